"""OpenID Connect provider simulator: discovery, JWKS, authorize, token, userinfo, end-session.

A stand-in for Microsoft Entra ID or HMPPS Auth, so the demo and the tests sign in through the
real authorization code flow with PKCE. Its RS256 key pair is made when the app is built. The
authorize page is a password-free "choose a test user" form (a list of staff codes, or any code
typed in). `POST /__admin/next-token {"tamper": ...}` makes the next ID token deliberately bad
(`signature`, `expired`, `issuer`, `audience`, `nonce`, `unsigned`), so the tests can prove the bridge
refuses it; `POST /__admin/rotate-key` signs with a new key from then on; `GET /__admin/log` lists what the simulator saw (end-session calls).
"""

from __future__ import annotations

import base64
import html
import json
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import unquote_plus, urlencode, urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from bridge.clock import Clock

__all__ = ["TAMPERS", "create_app"]

Tamper = Literal["signature", "expired", "issuer", "audience", "nonce", "unsigned"]
TAMPERS: tuple[str, ...] = ("signature", "expired", "issuer", "audience", "nonce", "unsigned")
#: How long a code and an ID token live (seconds).
CODE_SECONDS = 60
TOKEN_SECONDS = 300


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    user: str
    issued: int


@dataclass
class _State:
    clients: dict[str, tuple[str, tuple[str, ...]]]
    users: tuple[str, ...]
    key: RSAKey
    stranger: RSAKey  # signs "signature"-tampered tokens under the real key's kid
    retired: list[RSAKey] = field(default_factory=list)  # still published after a rotation
    grants: dict[str, _Grant] = field(default_factory=dict)
    access: dict[str, dict[str, Any]] = field(default_factory=dict)
    tamper: str | None = None
    log: list[dict[str, Any]] = field(default_factory=list)


def _issuer(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _redirect_allowed(state: _State, client_id: str, uri: str) -> bool:
    client = state.clients.get(client_id)
    if client is None:
        return False
    registered = client[1]
    if registered:
        return uri in registered
    # Nothing registered: any loopback address (the demo and the tests pick free ports).
    return urlsplit(uri).hostname in {"127.0.0.1", "localhost"}


def _same_origin_as_registered(state: _State, client_id: str | None, uri: str) -> bool:
    origins = {
        urlsplit(u)[:2]
        for cid, (_, uris) in state.clients.items()
        if client_id in (None, cid)
        for u in uris
    }
    if not origins:
        return urlsplit(uri).hostname in {"127.0.0.1", "localhost"}
    return urlsplit(uri)[:2] in origins


def _client_auth(request: Request, form: dict[str, str], state: _State) -> str | None:
    """The authenticated client id (client_secret_basic or client_secret_post), else None."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:]).decode()
        except ValueError:
            return None
        client_id, _, secret = raw.partition(":")
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    known = state.clients.get(client_id)
    if known is None or not secrets.compare_digest(known[0], secret):
        return None
    return client_id


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} - OIDC simulator</title></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


def _authorize_form(params: dict[str, str], users: tuple[str, ...]) -> HTMLResponse:
    hidden = "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in params.items()
    )
    choices = "".join(
        f"<div><input type='radio' name='user' id='user-{html.escape(u)}' value='{html.escape(u)}'>"
        f"<label for='user-{html.escape(u)}'>{html.escape(u)}</label></div>"
        for u in users
    )
    body = (
        "<p>A simulated organisation sign-in: choose a test user (no password).</p>"
        f"<form method='post' action='/authorize'>{hidden}"
        f"<fieldset><legend>Test users</legend>{choices}</fieldset>"
        "<p><label for='other'>Or another username</label> "
        "<input type='text' id='other' name='other' autocomplete='off'></p>"
        "<button type='submit' name='action' value='sign-in'>Sign in</button> "
        "<button type='submit' name='action' value='cancel'>Cancel</button></form>"
    )
    return _page("Sign in to the test organisation", body)


def create_app(
    *,
    clock: Clock,
    client_id: str = "bridge-dev",
    client_secret: str = "bridge-dev-secret",  # noqa: S107 - a simulator's default
    redirect_uris: tuple[str, ...] = (),
    users: tuple[str, ...] = (),
) -> FastAPI:
    """The simulator for one client (`redirect_uris` empty: any loopback address)."""
    state = _State(
        clients={client_id: (client_secret, redirect_uris)},
        users=users,
        key=_new_key(),
        stranger=RSAKey.generate_key(2048),
    )
    app = FastAPI(title="OIDC provider simulator", docs_url=None, redoc_url=None)
    app.state.sim = state

    @app.get("/.well-known/openid-configuration")
    def discovery(request: Request) -> dict[str, Any]:
        base = _issuer(request)
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks",
            "end_session_endpoint": f"{base}/end-session",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "preferred_username"],
        }

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return dict(KeySet([state.key, *state.retired]).as_dict(private=False))

    @app.get("/authorize")
    def authorize(request: Request) -> Response:
        q = dict(request.query_params)
        problem = _authorize_problem(q)
        if problem:
            return _page("The sign-in request is not valid", f"<p>{html.escape(problem)}</p>")
        keep = ("client_id", "redirect_uri", "state", "nonce", "code_challenge")
        return _authorize_form({k: q.get(k, "") for k in keep}, state.users)

    def _authorize_problem(q: dict[str, str]) -> str | None:
        if q.get("response_type") != "code":
            return "response_type must be code"
        if not _redirect_allowed(state, q.get("client_id", ""), q.get("redirect_uri", "")):
            return "unknown client or unregistered redirect_uri"
        if "openid" not in q.get("scope", "").split():
            return "the openid scope is missing"
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return "PKCE with S256 is required"
        return None

    @app.post("/authorize")
    def authorize_done(
        client_id: Annotated[str, Form()],
        redirect_uri: Annotated[str, Form()],
        code_challenge: Annotated[str, Form()],
        state_: Annotated[str, Form(alias="state")] = "",
        nonce: Annotated[str, Form()] = "",
        user: Annotated[str, Form()] = "",
        other: Annotated[str, Form()] = "",
        action: Annotated[str, Form()] = "sign-in",
    ) -> Response:
        if not _redirect_allowed(state, client_id, redirect_uri):
            return _page("The sign-in request is not valid", "<p>unregistered redirect_uri</p>")
        sep = "&" if "?" in redirect_uri else "?"
        if action == "cancel":
            query = urlencode({"error": "access_denied", "state": state_})
            return RedirectResponse(f"{redirect_uri}{sep}{query}", status_code=302)
        who = other.strip() or user
        if not who:
            return _page("Choose a test user", "<p>Go back and choose a user.</p>")
        code = secrets.token_urlsafe(24)
        state.grants[code] = _Grant(
            client_id, redirect_uri, code_challenge, nonce or None, who, _now(clock)
        )
        query = urlencode({"code": code, "state": state_})
        return RedirectResponse(f"{redirect_uri}{sep}{query}", status_code=302)

    @app.post("/token")
    async def token(request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        client = _client_auth(request, form, state)
        if client is None:
            return _oauth_error("invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type")
        grant = state.grants.pop(form.get("code", ""), None)  # single use
        if (
            grant is None
            or grant.client_id != client
            or grant.redirect_uri != form.get("redirect_uri")
            or grant.issued + CODE_SECONDS < _now(clock)
        ):
            return _oauth_error("invalid_grant")
        verifier = form.get("code_verifier", "")
        if not verifier or not secrets.compare_digest(
            create_s256_code_challenge(verifier), grant.challenge
        ):
            return _oauth_error("invalid_grant", description="PKCE verification failed")
        access = secrets.token_urlsafe(24)
        claims = _claims(_issuer(request), client, grant, clock)
        state.access[access] = claims
        tamper, state.tamper = state.tamper, None
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": TOKEN_SECONDS,
                "scope": "openid profile",
                "id_token": _id_token(state, claims, tamper),
            },
            headers={"cache-control": "no-store"},
        )

    @app.get("/userinfo")
    def userinfo(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        claims = state.access.get(header[7:]) if header.lower().startswith("bearer ") else None
        if claims is None:
            return _oauth_error("invalid_token", 401)
        return JSONResponse(
            {"sub": claims["sub"], "preferred_username": claims["preferred_username"]}
        )

    @app.get("/end-session")
    def end_session(
        request: Request,
        id_token_hint: str = "",
        post_logout_redirect_uri: str = "",
    ) -> Response:
        hinted: str | None = None
        if id_token_hint:
            try:
                hinted = str(
                    jwt.decode(id_token_hint, state.key, algorithms=["RS256"]).claims["sub"]
                )
            except (JoseError, KeyError, ValueError):
                return _page("Sign-out request not valid", "<p>Bad id_token_hint.</p>")
        state.log.append(
            {
                "event": "end_session",
                "sub": hinted,
                "post_logout_redirect_uri": post_logout_redirect_uri,
            }
        )
        if post_logout_redirect_uri:
            if not hinted or not _same_origin_as_registered(state, None, post_logout_redirect_uri):
                return _page("Sign-out request not valid", "<p>Unregistered redirect.</p>")
            extra = request.query_params.get("state")
            target = post_logout_redirect_uri
            if extra:
                target += ("&" if "?" in target else "?") + urlencode({"state": extra})
            return RedirectResponse(target, status_code=302)
        return _page("You have signed out", "<p>You have signed out of the test organisation.</p>")

    @app.post("/__admin/next-token")
    async def next_token(request: Request) -> Response:
        body = await request.json()
        tamper = body.get("tamper") if isinstance(body, dict) else None
        if tamper is not None and tamper not in TAMPERS:
            return JSONResponse({"error": f"tamper must be one of {TAMPERS}"}, status_code=400)
        state.tamper = tamper
        return JSONResponse({"tamper": tamper})

    @app.post("/__admin/rotate-key")
    def rotate_key() -> dict[str, str]:
        """A new signing key under a new kid; the old one stays published (as providers do)."""
        state.retired.insert(0, state.key)
        state.key = _new_key()
        return {"kid": str(state.key.kid)}

    @app.post("/__admin/reset")
    def reset() -> dict[str, bool]:
        state.grants.clear()
        state.access.clear()
        state.log.clear()
        state.tamper = None
        return {"reset": True}

    @app.get("/__admin/log")
    def log() -> list[dict[str, Any]]:
        return state.log

    return app


def _new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig"})


def _now(clock: Clock) -> int:
    return int(clock.now().timestamp())


def _oauth_error(code: str, status: int = 400, *, description: str | None = None) -> Response:
    body = {"error": code} | ({"error_description": description} if description else {})
    return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})


def _claims(issuer: str, client_id: str, grant: _Grant, clock: Clock) -> dict[str, Any]:
    now = _now(clock)
    subject = "sim-" + base64.urlsafe_b64encode(grant.user.encode()).decode().rstrip("=")
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "iat": now,
        "exp": now + TOKEN_SECONDS,
        "auth_time": now,
        "preferred_username": grant.user,
        "name": f"Test user {grant.user}",
    }
    if grant.nonce:
        claims["nonce"] = grant.nonce
    return claims


def _id_token(state: _State, claims: dict[str, Any], tamper: str | None) -> str:
    claims = dict(claims)
    key = state.key
    if tamper == "expired":
        claims["iat"], claims["exp"] = claims["iat"] - 2 * TOKEN_SECONDS, claims["iat"] - 60
    elif tamper == "issuer":
        claims["iss"] = "https://issuer.invalid"
    elif tamper == "audience":
        claims["aud"] = "another-client"
    elif tamper == "nonce":
        claims["nonce"] = "not-the-nonce-sent"
    elif tamper == "signature":
        key = state.stranger  # signed by another key under the real key's kid
    header = {"alg": "RS256", "typ": "JWT", "kid": state.key.kid}
    if tamper == "unsigned":  # `alg: none`, no signature at all
        parts = [{"alg": "none", "typ": "JWT"}, claims]
        return ".".join(_b64(json.dumps(p).encode()) for p in parts) + "."
    return jwt.encode(header, claims, key)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
