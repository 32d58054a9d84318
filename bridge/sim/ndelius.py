"""nDelius-like API simulator (ARCHITECTURE.md §4): OAuth2, case reads, feed, admin."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bridge.clock import Clock
from bridge.sim.building import one_build_at_a_time
from bridge.sim.faults import ADMIN_PREFIX, install_faults
from bridge.sim.ndelius_state import (
    DEFAULT_CONTACTS_PAGE,
    NdeliusState,
    Parts,
    contacts_page,
    load_cases,
    page_of,
)

__all__ = ["create_app"]

TOKEN_PATH = "/auth/oauth/token"  # noqa: S105 (a URL path, not a secret)
JSON = "application/json"
_CASE_READ = re.compile(
    r"/secure/offenders/crn/(?P<a>[^/]+)/(?P<what_a>all|registrations)"
    r"|/case/(?P<b>[^/]+)/(?P<what_b>contacts|access-limitations)"
)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": status, "error": message}, status_code=status)


class TokenStore:
    """Issued bearer tokens and their expiry, measured with the injected clock."""

    def __init__(self, clock: Clock, ttl_seconds: int) -> None:
        self.clock = clock
        self.ttl_seconds = ttl_seconds
        self.expiry: dict[str, datetime] = {}

    def issue(self) -> str:
        now = self.clock.now()
        self.expiry = {t: exp for t, exp in self.expiry.items() if exp > now}
        token = secrets.token_urlsafe(24)
        self.expiry[token] = now + timedelta(seconds=self.ttl_seconds)
        return token

    def is_valid(self, token: str) -> bool:
        expiry = self.expiry.get(token)
        return expiry is not None and self.clock.now() < expiry


class BearerAuthMiddleware:
    """401 for a request without a live token (except the token and admin paths)."""

    def __init__(self, app: ASGIApp, tokens: TokenStore) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        exempt = path == TOKEN_PATH or path.startswith(ADMIN_PREFIX)
        if scope["type"] != "http" or exempt:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and self.tokens.is_valid(token.strip()):
            await self.app(scope, receive, send)
            return
        response = _error(401, "missing, unknown or expired bearer token")
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        await response(scope, receive, send)


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    return (client_id, client_secret) if sep else None


def _part(parts: Parts, what: str) -> bytes:
    """The encoded body of one read of a case (`what`: the last path segment)."""
    if what == "all":
        return parts.offender
    if what == "registrations":
        return parts.registrations
    if what == "contacts":
        return parts.contacts
    return parts.access


def _is_default_contacts_query(query: bytes) -> bool:
    """True for `page=0&size=100` (either may be left out) and nothing else."""
    if not query:
        return True
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    params = dict(pairs)
    page, size = DEFAULT_CONTACTS_PAGE
    return (
        len(params) == len(pairs)
        and params.keys() <= {"page", "size"}
        and params.get("page", str(page)) == str(page)
        and params.get("size", str(size)) == str(size)
    )


class FastReadMiddleware:
    """Serves the four case reads straight from the pre-encoded parts, skipping routing.

    It sits inside the fault and bearer-token middleware, so both still apply; anything
    else (an unknown CRN, another contacts page or filter, every other path) goes on to
    the FastAPI routes, which answer the same reads with the same bytes.
    """

    def __init__(self, app: ASGIApp, state: NdeliusState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = _CASE_READ.fullmatch(str(scope.get("path", "")))
            if match is not None:
                crn = match["a"] or match["b"]
                what = match["what_a"] or match["what_b"]
                query = scope.get("query_string", b"")
                if crn in self.state.cases and (
                    what != "contacts" or _is_default_contacts_query(query)
                ):
                    body = _part(self.state.parts(crn), what)
                    await Response(body, media_type=JSON)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _parse_categories(raw: str | None) -> set[int] | None:
    if raw is None or not raw.strip():
        return None
    return {int(part) for part in raw.split(",") if part.strip()}


def _add_token_route(app: FastAPI, tokens: TokenStore, client: tuple[str, str]) -> None:
    @app.post(TOKEN_PATH)
    async def token(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        grant = request.query_params.get("grant_type") or form.get("grant_type", [""])[0]
        given = _basic_credentials(request)
        if given is None or not (
            secrets.compare_digest(given[0].encode(), client[0].encode())
            and secrets.compare_digest(given[1].encode(), client[1].encode())
        ):
            return _error(401, "invalid client credentials")
        if grant != "client_credentials":
            return _error(400, "unsupported grant_type; use client_credentials")
        return JSONResponse(
            {
                "access_token": tokens.issue(),
                "token_type": "bearer",
                "expires_in": tokens.ttl_seconds,
            }
        )


def _add_case_routes(app: FastAPI, state: NdeliusState) -> None:
    def missing(crn: str) -> JSONResponse:
        return _error(404, f"no case with CRN {crn}")

    @app.get("/secure/offenders/crn/{crn}/all")
    async def offender(crn: str) -> Response:
        if crn not in state.cases:
            return missing(crn)
        return Response(state.parts(crn).offender, media_type=JSON)

    @app.get("/secure/offenders/crn/{crn}/registrations")
    async def registrations(crn: str) -> Response:
        if crn not in state.cases:
            return missing(crn)
        return Response(state.parts(crn).registrations, media_type=JSON)

    @app.get("/case/{crn}/access-limitations")
    async def access_limitations(crn: str) -> Response:
        if crn not in state.cases:
            return missing(crn)
        return Response(state.parts(crn).access, media_type=JSON)

    @app.get("/case/{crn}/contacts")
    async def contacts(
        crn: str,
        mappa_categories_param: str | None = Query(None, alias="mappaCategories"),
        page: int = Query(0, ge=0),
        size: int = Query(100, ge=1, le=10_000),
    ) -> Response:
        if crn not in state.cases:
            return missing(crn)
        parts = state.parts(crn)
        if not isinstance(parts.doc, dict):  # malformed: the whole document, as it is
            return Response(parts.contacts, media_type=JSON)
        try:
            wanted = _parse_categories(mappa_categories_param)
        except ValueError:
            return _error(400, "mappaCategories must be comma-separated integers")
        if wanted is None and (page, size) == DEFAULT_CONTACTS_PAGE:
            return Response(parts.contacts, media_type=JSON)
        return JSONResponse(contacts_page(parts.doc, wanted, page, size))

    @app.get("/mappa/cases")
    async def mappa_cases(
        page: int = Query(0, ge=0), size: int = Query(500, ge=1, le=10_000)
    ) -> Response:
        return JSONResponse(page_of(state.mappa_cases(), page, size))

    @app.get("/events")
    async def events(after: int = Query(0), limit: int = Query(100, ge=0, le=10_000)) -> Response:
        return JSONResponse(
            {"events": state.events_after(after, limit), "lastSequence": state.head}
        )


def _add_admin_routes(app: FastAPI, state: NdeliusState, reset_faults: Callable[[], None]) -> None:
    @app.put("/__admin/cases/{crn}")
    async def upsert_case(crn: str, request: Request) -> dict[str, Any]:
        return {"crn": crn, "events": state.upsert(crn, await request.body())}

    @app.delete("/__admin/cases/{crn}")
    async def delete_case(crn: str) -> Response:
        if crn not in state.cases:
            return _error(404, f"no case with CRN {crn}")
        return JSONResponse({"crn": crn, "events": state.delete(crn)})

    @app.post("/__admin/merge")
    async def merge(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            source, target = body["from"], body["into"]
        except (ValueError, TypeError, KeyError):
            return _error(400, 'body must be {"from": crn, "into": crn}')
        if not isinstance(source, str) or not isinstance(target, str) or source == target:
            return _error(400, '"from" and "into" must be two different CRNs')
        for crn in (source, target):
            if crn not in state.cases:
                return _error(404, f"no case with CRN {crn}")
        return JSONResponse({"events": state.merge(source, target)})

    @app.post("/__admin/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        reset_faults()
        return {"cases": len(state.cases), "lastSequence": state.head}


@one_build_at_a_time
def create_app(
    *,
    cases_dir: Path | None,
    client_id: str,
    client_secret: str,
    clock: Clock,
    token_ttl_seconds: int = 300,
) -> FastAPI:
    """A fresh, stateful nDelius-like API serving the case documents in `cases_dir`."""
    app = FastAPI(title="nDelius simulator", docs_url=None, redoc_url=None)
    state = NdeliusState(load_cases(cases_dir), clock)
    tokens = TokenStore(clock, token_ttl_seconds)
    app.add_middleware(FastReadMiddleware, state=state)  # innermost: after faults and auth
    app.add_middleware(BearerAuthMiddleware, tokens=tokens)
    faults = install_faults(app, clock)  # added last, so outermost: runs before auth
    _add_token_route(app, tokens, (client_id, client_secret))
    _add_case_routes(app, state)
    _add_admin_routes(app, state, faults.clear)
    app.state.sim = state
    return app
