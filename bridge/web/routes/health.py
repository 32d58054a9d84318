"""Liveness and readiness probes (no sign-in; they say nothing about cases)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bridge.web.deps import WiringDep

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(wiring: WiringDep) -> JSONResponse:
    """Ready for traffic: the database answers and carries this release's schema."""
    problem = wiring.operations.readiness()
    if problem is not None:
        return JSONResponse({"status": "not ready", "reason": problem}, status_code=503)
    return JSONResponse({"status": "ready"})
