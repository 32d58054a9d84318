"""serve_in_thread: a real uvicorn on a free loopback port, stopped cleanly."""

from __future__ import annotations

import socket

import httpx
import pytest
from fastapi import FastAPI

from bridge.sim.server import serve_in_thread
from tests.loopback import local


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return app


def test_serves_on_a_free_port_and_stops_on_exit() -> None:
    with serve_in_thread(_app()) as url:
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        assert port > 0
        assert local.get(f"{url}/ping").json() == {"pong": "yes"}
    with pytest.raises(httpx.ConnectError):
        local.get(f"{url}/ping", timeout=1.0)


def test_two_servers_at_once_get_different_ports() -> None:
    with serve_in_thread(_app()) as first, serve_in_thread(_app()) as second:
        assert first != second


def test_a_port_in_use_is_reported() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="did not start"), serve_in_thread(_app(), port=port):
            pass  # pragma: no cover
