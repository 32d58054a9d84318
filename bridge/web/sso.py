"""Single sign-on's two short cookies, beside the session cookie (which stays as it is).

* `bridge_oidc_flow` (path `/login/oidc`, 10 minutes): the state, nonce and PKCE verifier of
  one sign-in through the provider, and where to go after it. Signed and timestamped with the
  secret key; the provider's callback must bring the same state back.
* `bridge_oidc_logout` (path `/logout`): the ID token, sent back to the provider only as the
  end-session request's `id_token_hint` when the person signs out.

Both are HttpOnly, SameSite=Lax (the provider's redirect back is a top-level navigation) and
Secure as the session cookie is.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from bridge.oidc import OidcClient, Pending
from bridge.wiring import Wiring

__all__ = ["FLOW_SECONDS", "Flow", "SsoCookies", "forget_provider", "provider_sign_out"]

FLOW_COOKIE = "bridge_oidc_flow"
LOGOUT_COOKIE = "bridge_oidc_logout"
FLOW_PATH = "/login/oidc"
LOGOUT_PATH = "/logout"
#: How long a browser may spend at the provider before the sign-in must start again.
FLOW_SECONDS = 600
#: The longest the ID token is kept for sign-out (a session ends sooner, idle or not).
LOGOUT_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Flow:
    """One sign-in in progress: what the callback checks, and the page to go to after."""

    pending: Pending
    next: str


class SsoCookies:
    """Reads and writes the two cookies for one app (keyed by BRIDGE_SECRET_KEY)."""

    def __init__(self, secret_key: str, *, always_secure: bool) -> None:
        self._flow = URLSafeTimedSerializer(secret_key, salt="bridge-oidc-flow")
        self._logout = URLSafeTimedSerializer(secret_key, salt="bridge-oidc-logout")
        self._always_secure = always_secure

    def _secure(self, request: Request) -> bool:
        return self._always_secure or request.url.scheme == "https"

    def set_flow(self, request: Request, response: Response, flow: Flow) -> None:
        p = flow.pending
        value = self._flow.dumps([p.state, p.nonce, p.verifier, flow.next])
        response.set_cookie(
            FLOW_COOKIE,
            value,
            max_age=FLOW_SECONDS,
            path=FLOW_PATH,
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
        )

    def flow(self, request: Request) -> Flow | None:
        raw = request.cookies.get(FLOW_COOKIE)
        if not raw:
            return None
        try:
            state, nonce, verifier, target = self._flow.loads(raw, max_age=FLOW_SECONDS)
        except (BadSignature, ValueError, TypeError):
            return None
        return Flow(Pending(url="", state=state, nonce=nonce, verifier=verifier), target)

    def clear_flow(self, response: Response) -> None:
        response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)

    def set_id_token(self, request: Request, response: Response, id_token: str) -> None:
        response.set_cookie(
            LOGOUT_COOKIE,
            self._logout.dumps(id_token),
            max_age=LOGOUT_SECONDS,
            path=LOGOUT_PATH,
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
        )

    def id_token(self, request: Request) -> str | None:
        raw = request.cookies.get(LOGOUT_COOKIE)
        if not raw:
            return None
        try:
            value = self._logout.loads(raw, max_age=LOGOUT_SECONDS)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def clear_id_token(self, response: Response) -> None:
        response.delete_cookie(LOGOUT_COOKIE, path=LOGOUT_PATH)


def cookies_for(request: Request) -> SsoCookies:
    cookies: SsoCookies = request.app.state.sso_cookies
    return cookies


def provider_sign_out(request: Request, wiring: Wiring, response: Response) -> Response:
    """Sign-out's last step: when the person signed in through the provider and it offers an
    end-session endpoint, send them there to end its session too (id_token_hint and
    post_logout_redirect_uri); else `response`. The ID token cookie is cleared either way."""
    cookies = cookies_for(request)
    id_token = cookies.id_token(request)
    oidc: OidcClient | None = wiring.oidc
    if oidc is not None and id_token is not None:
        url = oidc.end_session_url(
            id_token=id_token,
            post_logout_redirect_uri=str(request.url_for("oidc_signed_out")),
        )
        if url is not None:
            response = Response(status_code=303, headers={"location": url})
    if request.cookies.get(LOGOUT_COOKIE):
        cookies.clear_id_token(response)
    return response


def forget_provider(request: Request, response: Response) -> Response:
    """A password sign-in: an ID token left from an earlier single sign-on is dropped, so
    this session's sign-out does not visit the provider in another person's name. (The cookie
    is sent only to /logout, so it is cleared unseen.)"""
    cookies_for(request).clear_id_token(response)
    return response
