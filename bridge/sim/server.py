"""Run a simulator under uvicorn: in a background thread (tests, demo) or blocking."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

__all__ = ["run_forever", "serve_in_thread"]

_START_TIMEOUT_SECONDS = 10.0


def _bound_port(server: uvicorn.Server) -> int:
    for asyncio_server in getattr(server, "servers", []):
        for sock in asyncio_server.sockets:
            return int(sock.getsockname()[1])
    raise RuntimeError("uvicorn started but has no listening socket")


@contextmanager
def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` on host:port (0: any free port) in a daemon thread; yield the URL."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # noqa: BLE001 - uvicorn exits the thread on bind errors
            failures.append(exc)

    thread = threading.Thread(target=run, name="sim-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            reason = f": {failures[0]!r}" if failures else ""
            raise RuntimeError(f"uvicorn did not start on {host}:{port}{reason}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{_bound_port(server)}"
    finally:
        server.should_exit = True
        thread.join(_START_TIMEOUT_SECONDS)


def run_forever(app: ASGIApp, host: str, port: int) -> None:
    """Serve `app` in the foreground until interrupted (for `visor-bridge sim ...`)."""
    uvicorn.run(app, host=host, port=port, log_level="warning")
