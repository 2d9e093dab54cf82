"""The sluice server: the Lambda API over HTTP, backed by the store and the engine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sluice import httpio
from sluice.engine import Engine, EngineConfig, _registry
from sluice.errors import ConfigError
from sluice.protocol import runtime as rt
from sluice.protocol.sigv4 import Credentials
from sluice.server._app import LambdaApi
from sluice.store import Store

__all__ = ["LambdaServer", "ServerConfig"]

_logger = logging.getLogger("sluice.server")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything `sluice serve` can be told; parsed at the edge by the CLI."""

    host: str = "127.0.0.1"
    port: int = 3001
    data_dir: Path = field(default_factory=lambda: Path(".sluice"))
    account_id: str = "000000000000"
    concurrency_limit: int = 10
    idle_timeout: float = 300.0
    stop_grace: float = 2.0
    max_stream_response: int = rt.MAX_STREAMED_RESPONSE
    # Keys an AWS_IAM function URL accepts SigV4 signatures from.
    credentials: tuple[Credentials, ...] = (Credentials("test", "test"),)
    # The region of requests that name none (a function URL's path form).
    region: str = "us-east-1"
    # Become a child subreaper so processes functions orphan come back to this process
    # (process-wide: `sluice serve` sets it, an embedding program should not).
    adopt_orphans: bool = False


class LambdaServer:
    """A running Lambda endpoint; `start` returns the URL it listens on."""

    def __init__(self, config: ServerConfig, warn: Callable[[str], None] | None = None) -> None:
        self.config = config
        self._warn = warn
        self._store: Store | None = None
        self._engine: Engine | None = None
        self._http: httpio.HttpServer | None = None
        self._data_dir: Path | None = None
        self._reaper: asyncio.Task[None] | None = None
        self.url = ""

    async def start(self) -> str:
        """Open the store, start the engine, listen.

        Raises:
            ConfigError: the data dir cannot be used or the address cannot be bound.
        """
        config = self.config
        # Absolute, because function processes run with their code folder as working
        # directory and get paths inside it (LAMBDA_TASK_ROOT) that must still resolve there.
        data_dir = config.data_dir.resolve()
        try:
            self._store = Store.open(data_dir)
            # The store's lock is held: any function process recorded here is a leftover.
            stopped = await asyncio.to_thread(_registry.attach, data_dir)
        except OSError as exc:
            await self.close()
            raise ConfigError(f"cannot use data dir {config.data_dir}: {exc}") from exc
        self._data_dir = data_dir
        if stopped:
            self._say(
                f"stopped {stopped} function process{'es' if stopped != 1 else ''} "
                f"left running by a previous server on {config.data_dir}"
            )
        if config.adopt_orphans and _registry.adopt_orphans():
            self._reaper = asyncio.create_task(_registry.reap_forever())
        engine_config = EngineConfig(
            log_dir=data_dir / "logs",
            concurrency_limit=config.concurrency_limit,
            idle_timeout=config.idle_timeout,
            stop_grace=config.stop_grace,
            max_stream_response=config.max_stream_response,
        )
        self._engine = Engine(engine_config, **({"warn": self._warn} if self._warn else {}))
        self._engine.start()
        api = LambdaApi(
            self._store, self._engine, config.account_id, config.credentials, config.region
        )
        self._requeue_events(api)
        self._http = httpio.HttpServer(api.handle)
        try:
            port = await self._http.start(config.host, config.port)
        except OSError as exc:
            await self.close()
            raise ConfigError(f"cannot listen on {config.host}:{config.port}: {exc}") from exc
        api.control.port = port  # FunctionUrl names the port actually bound
        host = config.host if ":" not in config.host else f"[{config.host}]"
        self.url = f"http://{host}:{port}"
        return self.url

    def _requeue_events(self, api: LambdaApi) -> None:
        """Events a previous server accepted but did not run (it stopped or crashed) run
        now; those of functions since deleted cannot, and are dropped with a warning."""
        for event in api.control.requeue_events():
            self._say(
                f"dropped an Event invocation of {event.function_name} accepted at "
                f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(event.accepted_at))}: "
                "the function no longer exists"
            )

    async def close(self) -> None:
        """Stop every function process, then the listener and its connections, then the store.

        Function processes go first so in-flight streams end with an `InvokeComplete`
        before their connections are cut; then anything a function orphaned (see
        `engine._registry`).
        """
        if self._engine is not None:
            await self._engine.close()
        await self._stop_leftovers()
        if self._http is not None:
            await self._http.close()
        if self._store is not None:
            with contextlib.suppress(Exception):
                self._store.close()

    async def _stop_leftovers(self) -> None:
        """After the engine: environments it could not stop, then adopted orphans."""
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        killed = 0
        if self._data_dir is not None:
            killed += await asyncio.to_thread(_registry.detach, self._data_dir)
            self._data_dir = None
        killed += await asyncio.to_thread(_registry.stop_adopted)
        if killed:
            _logger.info("stopped %d processes functions left behind", killed)

    def _say(self, message: str) -> None:
        (self._warn or _logger.warning)(message)
