"""The routers, one module per area. Each page calls a service and renders; no rules here."""

from __future__ import annotations

from fastapi import APIRouter

from bridge.web.routes import (
    admin,
    admin_staff,
    api,
    api_tasks,
    cases,
    health,
    proxy,
    sign_in,
    workload,
)

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    health.router,
    sign_in.router,
    proxy.router,
    cases.router,
    admin_staff.router,
    admin.router,
    api.router,
    api_tasks.router,
    workload.router,
]
