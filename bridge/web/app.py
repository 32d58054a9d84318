"""The FastAPI app: GOV.UK Design System pages for proxies, offender managers and administrators,
and a JSON API under /api/. Built from already-built collaborators (nothing global at import).
"""

from __future__ import annotations

from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bridge.web.errors import install_error_handlers
from bridge.web.routes import ROUTERS
from bridge.web.security import SecurityHeaders
from bridge.web.session import BrowserTokens, CookieSession
from bridge.web.sso import SsoCookies
from bridge.web.templating import Pages
from bridge.web.timing import RequestTiming
from bridge.wiring import Wiring

__all__ = ["ASSETS", "create_app"]

ASSETS = Path(__file__).resolve().parent / "static" / "assets"
log = structlog.get_logger("bridge.web")


def create_app(wiring: Wiring, *, assets: Path = ASSETS) -> FastAPI:
    """The app over `wiring`; `assets` is the compiled assets folder (see `make assets`)."""
    settings = wiring.settings
    ready = (assets / "app.css").is_file()
    if not ready:
        log.warning(
            "web.assets_missing",
            hint="pages render unstyled; build the assets with `make assets` (needs Node.js and npm)",
        )
    tokens = BrowserTokens(settings.secret_key.get_secret_value())
    pages = Pages(tokens=tokens, assets_ready=ready)
    app = FastAPI(
        title="visor-bridge",
        summary="Queue, entry and case status for ViSOR proxy entry (session cookie sign-in).",
        docs_url=None,  # Swagger UI loads scripts from a CDN, which the CSP forbids
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.wiring = wiring
    app.state.pages = pages
    app.state.tokens = tokens
    production = settings.environment == "production"
    app.state.sso_cookies = SsoCookies(
        settings.secret_key.get_secret_value(), always_secure=production
    )
    install_error_handlers(app, pages)
    for router in ROUTERS:
        app.include_router(router)
    if ready:
        app.mount("/assets", StaticFiles(directory=assets), name="assets")
    # Outermost last: security headers wrap everything, including error pages.
    app.add_middleware(CookieSession, tokens=tokens, always_secure=production)
    oidc = wiring.oidc  # single sign-on: sign-out may lead to the provider (CSP form-action)
    app.add_middleware(SecurityHeaders, form_targets=oidc.origins if oidc else None)
    app.add_middleware(RequestTiming)
    return app
