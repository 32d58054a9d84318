"""HTTP for tests: one client for every call to the simulators and servers on loopback.

`httpx.post(…)` and a bare `httpx.Client()` each build a TLS context, loading the system's CA
certificates: about 20 ms of CPU every time, and the fixtures make several such calls per test
(each simulator is reset and its faults cleared). Everything a test calls is plain HTTP on
127.0.0.1, so `local` is made once per process and serves every call; it keeps no idle
connection, so a simulator a test stops leaves nothing stale behind. `http_client(…)` is for a
test's own session (its own cookies or base URL), built on one shared TLS context.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

__all__ = ["http_client", "local"]

_TLS = ssl.create_default_context()

#: `local.post(url)` wherever `httpx.post(url)` would do (the same defaults: 5 s, no redirects).
local = httpx.Client(verify=_TLS, limits=httpx.Limits(max_keepalive_connections=0))


def http_client(**kwargs: Any) -> httpx.Client:
    """`httpx.Client(**kwargs)` on the shared TLS context."""
    return httpx.Client(verify=_TLS, **kwargs)
