"""The routers, one module per area. Each page calls a service and renders; no rules here."""

from __future__ import annotations

from fastapi import APIRouter

from bridge.web.routes import (
    admin,
    admin_staff,
    admin_tasks,
    api,
    api_tasks,
    cases,
    fields,
    health,
    held,
    notifications,
    oidc,
    proxy,
    sign_in,
    tasks,
    workload,
)

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    health.router,
    sign_in.router,
    oidc.router,
    proxy.router,
    tasks.router,
    fields.router,
    held.router,
    cases.router,
    notifications.router,
    admin_staff.router,
    admin.router,
    admin_tasks.router,
    api.router,
    api_tasks.router,
    workload.router,
]
