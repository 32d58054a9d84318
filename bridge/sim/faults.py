"""Fault injection shared by both simulators: ASGI middleware plus admin routes."""

from __future__ import annotations

import asyncio
import json
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bridge.clock import Clock

__all__ = [
    "ADMIN_PREFIX",
    "Fault",
    "FaultSet",
    "FaultSpecError",
    "install_faults",
    "parse_fault",
]

ADMIN_PREFIX = "/__admin"


class FaultSpecError(ValueError):
    """A fault posted to `/__admin/faults` is malformed."""


@dataclass
class Fault:
    """One injected fault; fields left as None keep the normal response."""

    path: re.Pattern[str]
    posted_at: datetime
    status: int | None = None
    body: str | None = None
    delay_ms: int = 0
    count: int | None = None
    rate: float | None = None
    seconds: float | None = None
    seed: int = 0
    hits: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        # Deterministic on purpose: tests replay the same hit pattern for a seed.
        self.rng = random.Random(self.seed)

    @property
    def replaces_response(self) -> bool:
        """True when the request is answered by the fault instead of the app."""
        return self.status is not None or self.body is not None

    def is_live(self, now: datetime) -> bool:
        """Whether the fault still has hits left and is inside its time window."""
        if self.count is not None and self.hits >= self.count:
            return False
        return self.seconds is None or now < self.posted_at + timedelta(seconds=self.seconds)

    def describe(self) -> dict[str, Any]:
        """The fault as JSON (for `GET /__admin/faults`)."""
        return {
            "path": self.path.pattern,
            "status": self.status,
            "body": self.body,
            "delayMs": self.delay_ms,
            "count": self.count,
            "rate": self.rate,
            "seconds": self.seconds,
            "seed": self.seed,
            "hits": self.hits,
        }


def _opt_int(spec: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultSpecError(f"{key} must be an integer from {low} to {high}")
    return value


def _opt_number(spec: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultSpecError(f"{key} must be a number")
    if not low <= value <= high:
        raise FaultSpecError(f"{key} must be from {low} to {high}")
    return float(value)


def parse_fault(spec: object, posted_at: datetime) -> Fault:
    """A Fault from the JSON posted to `/__admin/faults`; raises FaultSpecError."""
    if not isinstance(spec, dict):
        raise FaultSpecError("a fault must be a JSON object")
    path = spec.get("path", "")
    if not isinstance(path, str):
        raise FaultSpecError("path must be a regular expression string")
    try:
        pattern = re.compile(path)
    except re.error as exc:
        raise FaultSpecError(f"path is not a valid regular expression: {exc}") from exc
    body = spec.get("body")
    if body is not None and not isinstance(body, str):
        raise FaultSpecError("body must be a string")
    return Fault(
        path=pattern,
        posted_at=posted_at,
        status=_opt_int(spec, "status", 100, 599),
        body=body,
        delay_ms=_opt_int(spec, "delayMs", 0, 600_000) or 0,
        count=_opt_int(spec, "count", 0, 2**31),
        rate=_opt_number(spec, "rate", 0.0, 1.0),
        seconds=_opt_number(spec, "seconds", 0.0, 10.0**9),
        seed=_opt_int(spec, "seed", -(2**63), 2**63) or 0,
    )


class FaultSet:
    """The active faults of one simulator; the first live, matching fault applies."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def pick(self, path: str) -> Fault | None:
        """The fault that hits a request to `path`, counting the hit; None if none."""
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return None
        now = self.clock.now()
        for fault in self.faults:
            if not fault.is_live(now) or fault.path.search(path) is None:
                continue
            if fault.rate is not None and fault.rng.random() >= fault.rate:
                continue
            fault.hits += 1
            return fault
        return None


def _fault_response(fault: Fault) -> Response:
    status = fault.status if fault.status is not None else 200
    if status < 200 or status in (204, 304):  # HTTP forbids a body on these
        return Response(status_code=status)
    if fault.body is not None:
        return Response(content=fault.body, status_code=status, media_type="application/json")
    body = {"status": status, "error": "injected fault"}
    return Response(content=json.dumps(body), status_code=status, media_type="application/json")


class FaultMiddleware:
    """Pure ASGI middleware: delays or replaces responses as the FaultSet says."""

    def __init__(self, app: ASGIApp, faults: FaultSet) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fault = self.faults.pick(str(scope.get("path", "")))
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault.replaces_response:
            await _fault_response(fault)(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install_faults(app: FastAPI, clock: Clock) -> FaultSet:
    """Add the fault middleware and `/__admin/faults` routes to `app`."""
    faults = FaultSet(clock)
    app.add_middleware(FaultMiddleware, faults=faults)

    @app.post("/__admin/faults", status_code=201)
    async def post_fault(request: Request) -> JSONResponse:
        try:
            spec = json.loads(await request.body())
            fault = parse_fault(spec, clock.now())
        except ValueError as exc:  # includes FaultSpecError and bad JSON
            return JSONResponse({"status": 400, "error": str(exc)}, status_code=400)
        faults.add(fault)
        return JSONResponse(fault.describe(), status_code=201)

    @app.get("/__admin/faults")
    async def list_faults() -> dict[str, Any]:
        return {"faults": [fault.describe() for fault in faults.faults]}

    @app.delete("/__admin/faults")
    async def clear_faults() -> dict[str, Any]:
        faults.clear()
        return {"faults": []}

    return faults
