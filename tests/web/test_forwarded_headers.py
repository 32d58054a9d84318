"""`visor-bridge serve --forwarded-allow-ips` (issue 18): proxy headers are ignored unless the
operator names the proxy. Before: uvicorn trusted X-Forwarded-For from loopback, so each sign-in
attempt could claim a new address and the per-address throttle never tripped."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn

from bridge.cli import run
from bridge.web.serving import KEEP_ALIVE_SECONDS, proxy_options, serve_options
from bridge.wiring import Wiring
from tests.loopback import http_client
from tests.web.conftest import csrf_of
from tests.web_app import create_app


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: what these tests check (which proxy headers are trusted) is the same on
    either database."""
    return sqlite_url


#: The per-address limit (bridge.services.accounts.Throttling.max_failures_per_client).
PER_CLIENT = 20


@contextmanager
def _served(wiring: Wiring, forwarded_allow_ips: str | None) -> Iterator[str]:
    config = uvicorn.Config(
        create_app(wiring),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        **proxy_options(forwarded_allow_ips),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _fail_from(url: str, n: int) -> int:
    """Sign-in failures, each claiming another address; the status of one more."""
    with http_client(base_url=url) as client:
        status = 0
        for i in range(n + 1):
            token = csrf_of(client.get("/login").text)
            status = client.post(
                "/login",
                data={"username": f"NOBODY{i}", "password": "wrong-password", "csrf_token": token},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            ).status_code
        return status


def test_proxy_headers_are_ignored_unless_the_proxy_is_named(web_wiring: Wiring) -> None:
    assert proxy_options(None) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    assert proxy_options(" 10.0.0.5, 10.0.0.6 ") == {
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.5,10.0.0.6",
    }
    with _served(web_wiring, None) as url:
        assert _fail_from(url, PER_CLIENT) == 429  # every attempt counted against 127.0.0.1


@pytest.mark.parametrize("ips", ["127.0.0.1"])
def test_a_named_proxy_is_trusted(web_wiring: Wiring, ips: str) -> None:
    with _served(web_wiring, ips) as url:
        assert _fail_from(url, PER_CLIENT) == 401  # each address its own count


def test_serve_has_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["serve", "--help"]) == 0
    assert "--forwarded-allow-ips" in capsys.readouterr().out


def test_idle_connections_outlast_the_load_balancers(
    web_wiring: Wiring, capsys: pytest.CaptureFixture[str]
) -> None:
    """uvicorn closes an idle connection after 5 s unless told otherwise; a balancer in front
    (60 s idle timeout) would then send a request down a closed connection (issue 19)."""
    # log_config=None: a Config otherwise points uvicorn's loggers, process-wide, at this
    # test's captured output (closed once it ends; a simulator's access line then fails later).
    app = create_app(web_wiring)
    config = uvicorn.Config(app, log_config=None, **serve_options(None))
    assert config.timeout_keep_alive == KEEP_ALIVE_SECONDS > 60
    assert uvicorn.Config(app, log_config=None, **serve_options(None, 90)).timeout_keep_alive == 90
    assert run(["serve", "--help"]) == 0
    assert "--keep-alive" in capsys.readouterr().out
