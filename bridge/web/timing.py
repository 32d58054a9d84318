"""Request timing by route template, for `bridge_http_request_duration_seconds`.

Labelled with the matched route's template (`/tasks/{crn}`), never the path, so a CRN or an id
never becomes a label; requests no route matched are counted as `unmatched`.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge.counters import HTTP_DURATION

__all__ = ["RequestTiming"]


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

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or (
                "/assets" if scope["path"].startswith("/assets/") else "unmatched"
            )
            HTTP_DURATION.labels(
                method=scope["method"], route=template, status=f"{status // 100}xx"
            ).observe(time.perf_counter() - started)
