"""Jinja2 with the GOV.UK Frontend macros, and one `render` that every page goes through."""

from __future__ import annotations

import re
from collections.abc import Callable
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
from markupsafe import Markup, escape

from bridge.core.lifecycle import Role
from bridge.core.vocabulary import STATE_LABELS, kind_label, state_label
from bridge.services.views import Person
from bridge.web.present import section_title

__all__ = ["Pages", "nav_for", "responsive"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Fragments kept at most (each role mix and current area has its own navigation).
_MAX_FRAGMENTS = 512
_TAGS = re.compile(r"<[^>]+>")


def responsive(params: dict[str, Any]) -> dict[str, Any]:
    """A `govukTable` whose rows stack on a narrow screen (WCAG 1.4.10 reflow).

    Each cell gets `data-label`, its column's heading (tags stripped), which app.scss shows
    before the cell when the table stacks; the table gets `app-table--responsive`."""
    head = params.get("head") or []
    labels = [
        " ".join(_TAGS.sub(" ", str(h.get("html") or h.get("text") or "")).split()) for h in head
    ]
    rows = []
    for row in params.get("rows") or []:
        cells = []
        for i, cell in enumerate(row or []):
            label = labels[i] if i < len(labels) else ""
            attributes = {**(cell.get("attributes") or {}), "data-label": label}
            cells.append({**cell, "attributes": attributes})
        rows.append(cells)
    classes = f"{params.get('classes') or ''} app-table--responsive".strip()
    return {**params, "rows": rows, "classes": classes}


def nav_for(staff: Person | None) -> list[dict[str, str]]:
    """The service navigation a person sees: one item per area their roles open."""
    if staff is None:
        return []
    items = []
    if Role.PROXY in staff.roles:  # a proxy starts at their tasks (one per person)
        items.append({"text": "Tasks", "href": "/tasks"})
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
            {"text": "Held tasks", "href": "/admin/tasks"},
            {"text": "Cases to look at", "href": "/admin/attention"},
            {"text": "Sync", "href": "/admin/sync"},
            {"text": "Submissions", "href": "/admin/submissions"},
            {"text": "Configuration", "href": "/admin/config"},
        ]
    items.append({"text": "Notifications", "href": "/notifications"})
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
            # Templates ship with the package and change only with a new release (a restart).
            # Left on, every page stat()s each template and macro file it imports: ~120 calls
            # and a fifth of a task page's render time.
            auto_reload=False,
        )
        self.env.filters["section_title"] = section_title
        self.env.filters["responsive"] = responsive
        # One vocabulary (bridge.core.vocabulary): states, kinds and sections in people's words.
        self.env.filters["state_label"] = state_label
        self.env.filters["kind_label"] = kind_label
        self.env.globals["vocabulary_states"] = {s.value: t for s, t in STATE_LABELS.items()}
        self.env.globals["fragment"] = self.fragment
        self._fragments: dict[Any, Markup] = {}
        self._tokens = tokens
        self.assets_ready = assets_ready

    def fragment(self, key: Any, render: Callable[..., Any], *args: Any) -> Markup:
        """`render(*args)`, rendered once per process and kept under `key`: for HTML that is
        the same on every page that shows it (the header, a person's navigation, an empty
        form field, a fixed tag). GOV.UK Frontend's macros are most of a page's render time,
        and the template renders the header twice. Only constants and navigation go in: never
        anything from a record or typed in a request, so nothing personal is kept."""
        html = self._fragments.get(key)
        if html is None:
            html = escape(render(*args))  # a macro's Markup as it is; anything else escaped
            if len(self._fragments) < _MAX_FRAGMENTS:
                self._fragments[key] = html
        return html

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
            # What the navigation's HTML depends on: its fragment's key (base.html).
            "nav_key": tuple((i["text"], i["href"], i["active"]) for i in nav),
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
