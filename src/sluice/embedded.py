"""A sluice server on a background thread, for programs that are not asyncio themselves.

`sluice demo` uses it to serve the example stack while it deploys with boto3 and runs the
example's client; both talk to it over loopback HTTP, exactly as outside clients would.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from sluice import eventloop
from sluice.server import LambdaServer, ServerConfig


class EmbeddedServer:
    """`with EmbeddedServer(config) as url:` serves until the block ends."""

    def __init__(self, config: ServerConfig) -> None:
        self._server = LambdaServer(config)
        self._loop = eventloop.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._server.start(), self._loop)
        try:
            return future.result()
        except BaseException:
            self._shutdown()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._server.close(), self._loop).result()
        self._shutdown()

    def _shutdown(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
