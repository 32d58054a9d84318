"""The browser's cookie: a signed random token, and the CSRF token derived from it.

Every browser gets a token before it signs in, so the sign-in form has a CSRF token too.
Signing in replaces the token (no session fixation); the store knows only signed-in tokens'
hashes (see services/accounts.py). The CSRF token is an HMAC of the browser token, so it
changes with it and needs no storage.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["COOKIE", "BrowserTokens", "CookieSession"]

COOKIE = "bridge_session"


class BrowserTokens:
    """Signs browser tokens for the cookie and derives their CSRF tokens."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt="bridge-session")
        self._csrf_key = hashlib.sha256(("csrf:" + secret_key).encode()).digest()

    def new(self) -> str:
        return secrets.token_urlsafe(32)

    def dumps(self, token: str) -> str:
        return self._serializer.dumps(token)

    def loads(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            value = self._serializer.loads(cookie)
        except BadSignature:
            return None
        return value if isinstance(value, str) and len(value) >= 32 else None

    def csrf(self, token: str) -> str:
        return hmac.new(self._csrf_key, token.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, token: str, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf(token), str(submitted))


class CookieSession:
    """ASGI middleware: puts the browser token in `scope['state']` and (re)sets the cookie.

    A handler that signs someone in or out sets `request.state.new_token`; the cookie is then
    replaced on the way out. Cookies are HttpOnly, SameSite=Lax, Path=/, and Secure over HTTPS
    or when `always_secure` (production).
    """

    def __init__(self, app: ASGIApp, *, tokens: BrowserTokens, always_secure: bool) -> None:
        self.app = app
        self.tokens = tokens
        self.always_secure = always_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/assets/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token = self.tokens.loads(request.cookies.get(COOKIE))
        state = scope.setdefault("state", {})
        fresh = token is None
        state["browser_token"] = token = token or self.tokens.new()
        # A token minted just now has no session: nobody is signed in, no lookup needed.
        state["browser_token_new"] = fresh
        secure = self.always_secure or scope.get("scheme") == "https"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                new = state.get("new_token")
                if new is not None or fresh:
                    cookie = Response()
                    cookie.set_cookie(
                        COOKIE,
                        self.tokens.dumps(new or token),
                        httponly=True,
                        samesite="lax",
                        secure=secure,
                        path="/",
                    )
                    message.setdefault("headers", [])
                    message["headers"] = [
                        *message["headers"],
                        *[(k, v) for k, v in cookie.raw_headers if k == b"set-cookie"],
                    ]
            await send(message)

        await self.app(scope, receive, send_with_cookie)
