"""Each request's id and time.

The id (a well-formed `X-Request-Id` from the proxy in front, or a new one) is on every log line
logged while the request is answered, and returned as `X-Request-Id`. The time is recorded in
`bridge_http_request_duration_seconds`, labelled with the matched route's template
(`/tasks/{crn}`), never the path, so a CRN or an id never becomes a label; requests no route
matched are counted as `unmatched`.
"""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge.counters import HTTP_DURATION
from bridge.logs import bound

__all__ = ["RequestTiming", "request_id"]

_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id(scope: Scope) -> str:
    """The proxy's `X-Request-Id` when it is a plain token, else a new one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            given = bytes(value).decode("latin-1")
            if _GIVEN_ID.fullmatch(given):
                return given
    return uuid.uuid4().hex[:16]


class RequestTiming:
    """Pure ASGI middleware: times each HTTP request to its last body byte."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        rid = request_id(scope)

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            with bound(request_id=rid):
                await self.app(scope, receive, send_timed)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or (
                "/assets" if scope["path"].startswith("/assets/") else "unmatched"
            )
            HTTP_DURATION.labels(
                method=scope["method"], route=template, status=f"{status // 100}xx"
            ).observe(time.perf_counter() - started)
