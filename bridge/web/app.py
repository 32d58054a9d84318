"""The FastAPI app. For now: a queue page (metadata only) and health checks; the full UI comes later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import text

from bridge.wiring import Wiring

__all__ = ["create_app"]

TEMPLATES = Path(__file__).resolve().parent / "templates"


def create_app(wiring: Wiring) -> FastAPI:
    """Build the app from already-built collaborators (nothing global, nothing at import)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    app = FastAPI(title="visor-bridge", docs_url="/api/docs", openapi_url="/api/openapi.json")

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "default-src 'self'"
        return response

    @app.get("/", response_class=HTMLResponse)
    def queue_page(status: str | None = None) -> str:
        rows = wiring.review.list_queue(status)
        return env.get_template("queue.html").render(rows=rows, status=status)

    @app.get("/api/queue")
    def queue_api(status: str | None = None) -> list[dict[str, Any]]:
        return wiring.review.list_queue(status)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        try:
            with wiring.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - readiness probe: any failure means not ready
            return JSONResponse({"status": "not ready"}, status_code=503)
        return JSONResponse({"status": "ready"})

    return app
