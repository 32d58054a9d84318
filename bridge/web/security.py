"""Security headers on every response, and a per-request nonce for the one inline script.

Scripts come only from this service (`script-src 'self'`) plus the page template's one-line
js-enabled snippet, allowed by its nonce. Pages and API answers are never cached.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders", "csp_for"]


def csp_for(nonce: str, form_targets: Sequence[str] = ()) -> str:
    """The policy; `form_targets`: other origins a form may lead to (the identity provider's
    end-session endpoint, where sign-out redirects: browsers check redirects of a form too)."""
    form_action = " ".join(["'self'", *form_targets])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """Pure ASGI middleware (no body buffering): sets `scope['state']['csp_nonce']`."""

    def __init__(
        self, app: ASGIApp, form_targets: Callable[[], Sequence[str]] | None = None
    ) -> None:
        self.app = app
        self.form_targets = form_targets or (lambda: ())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        static = scope["path"].startswith("/assets/")
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                extra = {
                    b"content-security-policy": csp_for(nonce, self.form_targets()).encode(),
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"no-referrer",
                    b"cross-origin-opener-policy": b"same-origin",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
                    b"cache-control": b"public, max-age=3600" if static else b"no-store",
                }
                if https:
                    extra[b"strict-transport-security"] = b"max-age=31536000"
                headers = [(k, v) for k, v in headers if k.lower() not in extra]
                headers.extend(extra.items())
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
