"""Jinja2 with the GOV.UK Frontend macros, and one `render` that every page goes through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    Undefined,
    select_autoescape,
)

from bridge.core.lifecycle import Role
from bridge.services.views import Person
from bridge.web.present import section_title

__all__ = ["Pages", "nav_for"]

TEMPLATES = Path(__file__).resolve().parent / "templates"


def nav_for(staff: Person | None) -> list[dict[str, str]]:
    """The service navigation a person sees: one item per area their roles open."""
    if staff is None:
        return []
    items = []
    if Role.PROXY in staff.roles:
        items.append({"text": "Queue", "href": "/queue"})
    if Role.OFFENDER_MANAGER in staff.roles:
        items.append({"text": "My cases", "href": "/cases"})
    if Role.PROXY in staff.roles or staff.needs_proxy_since is not None:
        items.append({"text": "My work", "href": "/my-work"})
    if Role.MANAGER in staff.roles or Role.ADMIN in staff.roles:
        items += [
            {"text": "Workload", "href": "/workload"},
            {"text": "Backlog", "href": "/backlog"},
        ]
    if Role.ADMIN in staff.roles:
        items += [
            {"text": "Staff", "href": "/admin/staff"},
            {"text": "Sync", "href": "/admin/sync"},
            {"text": "Submissions", "href": "/admin/submissions"},
            {"text": "Configuration", "href": "/admin/config"},
        ]
    return items


class Pages:
    """Renders templates with what every page needs: the user, the CSRF token, the nonce."""

    def __init__(self, *, tokens: Any, assets_ready: bool) -> None:
        self.env = Environment(
            loader=ChoiceLoader(
                [
                    FileSystemLoader(TEMPLATES),
                    PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
                ]
            ),
            autoescape=select_autoescape(["html", "xml"]),
            undefined=Undefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["section_title"] = section_title
        self._tokens = tokens
        self.assets_ready = assets_ready

    def context(self, request: Request, staff: Person | None) -> dict[str, Any]:
        path = request.url.path
        nav = [
            {**item, "active": path == item["href"] or path.startswith(item["href"] + "/")}
            for item in nav_for(staff)
        ]
        return {
            "request": request,
            "user": staff,
            "nav": nav,
            "csrf_token": self._tokens.csrf(request.state.browser_token)
            if hasattr(request.state, "browser_token")
            else "",
            "cspNonce": getattr(request.state, "csp_nonce", ""),
            "assets_ready": self.assets_ready,
        }

    def render(
        self,
        request: Request,
        name: str,
        values: dict[str, Any] | None = None,
        *,
        staff: Person | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        ctx = self.context(
            request, staff if staff is not None else getattr(request.state, "staff", None)
        )
        ctx.update(values or {})
        return HTMLResponse(self.env.get_template(name).render(ctx), status_code=status_code)
