"""Wire formats as pure functions over bytes and values: no sockets, no asyncio."""
