"""The compiled assets: served when built; without them the app still starts, unstyled, and says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from bridge.web.app import ASSETS
from bridge.wiring import Wiring
from tests.web_app import create_app


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: what these tests check (how the compiled assets are served) is the same on
    either database."""
    return sqlite_url


def test_without_compiled_assets_pages_render_unstyled_and_the_log_says_how_to_build_them(
    web_wiring: Wiring, tmp_path: Path
) -> None:
    with capture_logs() as logs:
        app = create_app(web_wiring, assets=tmp_path / "not-built")
    assert any(e["event"] == "web.assets_missing" and "make assets" in e["hint"] for e in logs)
    with TestClient(app) as client:
        page = client.get("/login")
        assert page.status_code == 200
        assert "Sign in" in page.text
        assert "/assets/app.css" not in page.text
        assert client.get("/assets/app.css").status_code == 404


def test_built_assets_are_served_with_arial_and_no_gds_transport(web_wiring: Wiring) -> None:
    css = (ASSETS / "app.css").read_text(encoding="utf-8")
    assert "arial" in css
    assert "GDS Transport" not in css
    assert "@font-face" not in css
    with TestClient(create_app(web_wiring)) as client:
        page = client.get("/login")
        assert '<link rel="stylesheet" href="/assets/app.css">' in page.text
        for path in ("/assets/app.css", "/assets/app.js", "/assets/govuk-frontend.min.js"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.headers["cache-control"].startswith("public")
        assert "initAll" in client.get("/assets/app.js").text
