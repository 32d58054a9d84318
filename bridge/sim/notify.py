"""GOV.UK Notify simulator (ARCHITECTURE §11): the API v2 subset notifications-python-client uses.

It checks what the real service checks, in the real order — the bearer token before the body:
no token → 401 AuthError; a token whose issuer is not the key's service, whose signature is not
the key's secret, or whose `iat` is more than 30 seconds from now → 403 AuthError; then the
body: template id, the address, the template's personalisation → 400. Errors have Notify's shape
`{"status_code": N, "errors": [{"error": ..., "message": ...}]}`. Like Notify it does not
deduplicate on `reference`: a sender unsure of a send looks the reference up first.

Test hooks: `GET /__admin/sent`, `POST /__admin/templates`, `POST /__admin/faults` (as the
other simulators; a 429 body in Notify's shape makes a rate-limit storm), `POST /__admin/reset`.
With `rate_limit_per_minute` it also enforces Notify's own rate limit (a token bucket).
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from bridge.clock import SystemClock
from bridge.core.notify_kinds import KINDS, demo_template_id
from bridge.sim.building import one_build_at_a_time
from bridge.sim.faults import install_faults

__all__ = [
    "DEMO_API_KEY",
    "JWT_WINDOW_SECONDS",
    "Template",
    "create_app",
    "notify_error",
    "parse_api_key",
]

#: A key in Notify's format `{name}-{service id}-{secret}` (both UUIDs): the demo's and tests'.
DEMO_API_KEY = (
    "bridge_demo-4b7e1e7a-3f0c-4f7e-9a53-5d1e2a9c8b01-0c6f9d5e-1b2a-4c3d-8e7f-9a0b1c2d3e4f"
)
#: How far a token's `iat` may be from the server's clock, either way (Notify: 30 seconds).
JWT_WINDOW_SECONDS = 30
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_KEY = re.compile(rf"^(?P<name>.+)-(?P<service>{_UUID})-(?P<secret>{_UUID})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PLACEHOLDER = re.compile(r"\(\(([^)]+)\)\)")


def parse_api_key(key: str) -> tuple[str, str, str]:
    """(name, service id, secret) of a key in Notify's format, or ValueError."""
    found = _KEY.fullmatch(key.strip())
    if found is None:
        raise ValueError("an API key is {name}-{service id}-{secret}, the last two UUIDs")
    return found["name"], found["service"].lower(), found["secret"].lower()


def notify_error(status: int, error: str, message: str) -> JSONResponse:
    """An error in Notify's shape."""
    return JSONResponse(
        {"status_code": status, "errors": [{"error": error, "message": message}]},
        status_code=status,
    )


@dataclass
class RateLimit:
    """Notify's per-key rate limit: a token bucket of min(ceil(N/3) + 1, 1001) requests,
    refilled at N a minute; an empty bucket is a 429 RateLimitError."""

    per_minute: int
    clock: Callable[[], float]
    tokens: float = field(init=False)
    at: float = field(init=False)

    def __post_init__(self) -> None:
        self.capacity = float(min(math.ceil(self.per_minute / 3) + 1, 1001))
        self.tokens, self.at = self.capacity, self.clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.per_minute / 60)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class Template:
    """A template the simulated service has: its type, the keys it needs, its text."""

    id: str
    type: str = "email"
    personalisation: list[str] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    version: int = 1


def _default_templates() -> dict[str, Template]:
    """One email template per message kind, at the id the demo configures."""
    return {
        demo_template_id(k.kind): Template(
            id=demo_template_id(k.kind),
            personalisation=list(k.keys),
            subject=k.subject,
            body=k.body,
        )
        for k in KINDS
    }


def _render(text: str, values: dict[str, Any]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


class NotifyState:
    """Templates, accepted notifications (in order) and the service's key."""

    def __init__(self, api_key: str, now: Callable[[], float], rate: RateLimit | None) -> None:
        _, self.service_id, self.secret = parse_api_key(api_key)
        self.now = now
        self.rate = rate
        self.templates = _default_templates()
        self.sent: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.templates = _default_templates()
        self.sent.clear()

    def auth_error(self, header: str | None) -> JSONResponse | None:
        """None when the bearer token is good; else Notify's 401 or 403."""
        if not header:
            return notify_error(
                401, "AuthError", "Unauthorized: authentication token must be provided"
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return notify_error(
                401, "AuthError", "Unauthorized: authentication bearer scheme must be used"
            )
        try:
            claims = jwt.decode(token.strip(), options={"verify_signature": False})
        except jwt.PyJWTError:
            return notify_error(403, "AuthError", "Invalid token: signature, api token not found")
        issuer = claims.get("iss")
        if not isinstance(issuer, str):
            return notify_error(403, "AuthError", "Invalid token: iss field not provided")
        if issuer.lower() != self.service_id:
            return notify_error(403, "AuthError", "Invalid token: service not found")
        try:
            claims = jwt.decode(
                token.strip(),
                key=self.secret,
                algorithms=["HS256"],
                options={"verify_iat": False, "verify_exp": False},
            )
        except jwt.PyJWTError:
            return notify_error(403, "AuthError", "Invalid token: API key not found")
        iat = claims.get("iat")
        if not isinstance(iat, int | float):
            return notify_error(403, "AuthError", "Invalid token: iat field not provided")
        if abs(self.now() - float(iat)) > JWT_WINDOW_SECONDS:
            return notify_error(
                403, "AuthError", "Error: Your system clock must be accurate to within 30 seconds"
            )
        if self.rate is not None and not self.rate.take():
            return notify_error(
                429,
                "RateLimitError",
                f"Exceeded rate limit for key type LIVE of {self.rate.per_minute} requests per 60 seconds",
            )
        return None

    def check_send(self, kind: str, body: Any) -> tuple[Template | None, JSONResponse | None]:
        if not isinstance(body, dict):
            return None, notify_error(400, "ValidationError", "Invalid JSON supplied in POST data")
        template_id = body.get("template_id")
        if not isinstance(template_id, str) or not re.fullmatch(_UUID, template_id):
            return None, notify_error(400, "ValidationError", "template_id is not a valid UUID")
        to_key = "email_address" if kind == "email" else "phone_number"
        to = body.get(to_key)
        if not isinstance(to, str) or not to:
            return None, notify_error(400, "ValidationError", f"{to_key} is a required property")
        if kind == "email" and not _EMAIL.fullmatch(to):
            return None, notify_error(
                400, "ValidationError", "email_address Not a valid email address"
            )
        template = self.templates.get(template_id.lower())
        if template is None:
            return None, notify_error(400, "BadRequestError", "Template not found")
        if template.type != kind:
            return None, notify_error(
                400,
                "BadRequestError",
                f"{template.type} template is not suitable for {kind} notification",
            )
        values = body.get("personalisation") or {}
        if not isinstance(values, dict):
            return None, notify_error(400, "ValidationError", "personalisation should be an object")
        missing = [k for k in template.personalisation if values.get(k) in (None, "")]
        if missing:
            return None, notify_error(
                400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}"
            )
        reference = body.get("reference")
        if reference is not None and not isinstance(reference, str):
            return None, notify_error(400, "ValidationError", "reference is not of type string")
        return template, None

    def accept(
        self, kind: str, body: dict[str, Any], template: Template, base: str
    ) -> dict[str, Any]:
        values = body.get("personalisation") or {}
        notification_id = str(uuid.uuid4())
        to_key = "email_address" if kind == "email" else "phone_number"
        stored = {
            "id": notification_id,
            "reference": body.get("reference"),
            "type": kind,
            "email_address": body.get(to_key) if kind == "email" else None,
            "phone_number": body.get(to_key) if kind == "sms" else None,
            "template_id": template.id,
            "personalisation": dict(values),
            "subject": _render(template.subject, values),
            "body": _render(template.body, values),
            "status": "delivered",
            "created_at": datetime.fromtimestamp(self.now(), UTC).isoformat(),
        }
        self.sent.append(stored)
        return {
            "id": notification_id,
            "reference": stored["reference"],
            "content": {
                "body": stored["body"],
                "subject": stored["subject"],
                "from_email": "visor.bridge@notifications.service.gov.uk",
                "one_click_unsubscribe_url": None,
            },
            "uri": f"{base}/v2/notifications/{notification_id}",
            "template": {
                "id": template.id,
                "version": template.version,
                "uri": f"{base}/services/{self.service_id}/templates/{template.id}",
            },
            "scheduled_for": None,
        }

    def public(self, stored: dict[str, Any], base: str) -> dict[str, Any]:
        """A notification as `GET /v2/notifications/{id}` returns it."""
        return {
            "id": stored["id"],
            "reference": stored["reference"],
            "email_address": stored["email_address"],
            "phone_number": stored["phone_number"],
            "type": stored["type"],
            "status": stored["status"],
            "template": {
                "id": stored["template_id"],
                "version": 1,
                "uri": f"{base}/services/{self.service_id}/templates/{stored['template_id']}",
            },
            "body": stored["body"],
            "subject": stored["subject"],
            "created_at": stored["created_at"],
            "created_by_name": None,
            "sent_at": stored["created_at"],
            "completed_at": stored["created_at"],
        }


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _add_routes(app: FastAPI, state: NotifyState) -> None:
    async def send(kind: str, request: Request) -> JSONResponse:
        refused = state.auth_error(request.headers.get("authorization"))
        if refused is not None:
            return refused
        try:
            raw = await request.body()
        except ClientDisconnect:  # the sender died mid-request: nothing was received
            return notify_error(400, "BadRequestError", "The request was not received")
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        template, problem = state.check_send(kind, body)
        if problem is not None or template is None:
            assert problem is not None
            return problem
        return JSONResponse(state.accept(kind, body, template, _base(request)), status_code=201)

    @app.post("/v2/notifications/email")
    async def send_email(request: Request) -> JSONResponse:
        return await send("email", request)

    @app.post("/v2/notifications/sms")
    async def send_sms(request: Request) -> JSONResponse:
        return await send("sms", request)

    @app.get("/v2/notifications/{notification_id}")
    async def get_one(notification_id: str, request: Request) -> JSONResponse:
        refused = state.auth_error(request.headers.get("authorization"))
        if refused is not None:
            return refused
        if not re.fullmatch(_UUID, notification_id):
            return notify_error(400, "ValidationError", "notification_id is not a valid UUID")
        for stored in state.sent:
            if stored["id"] == notification_id:
                return JSONResponse(state.public(stored, _base(request)))
        return notify_error(404, "NoResultFound", "No result found")

    @app.get("/v2/notifications")
    async def get_all(request: Request) -> JSONResponse:
        refused = state.auth_error(request.headers.get("authorization"))
        if refused is not None:
            return refused
        query = request.query_params
        found = [
            state.public(s, _base(request))
            for s in reversed(state.sent)  # newest first, as Notify lists them
            if (query.get("reference") in (None, s["reference"]))
            and (query.get("template_type") in (None, s["type"]))
            and (query.get("status") in (None, s["status"]))
        ]
        return JSONResponse(
            {"notifications": found, "links": {"current": str(request.url)}}, status_code=200
        )

    @app.get("/__admin/sent")
    async def sent() -> dict[str, Any]:
        return {"notifications": list(state.sent)}

    @app.post("/__admin/templates", status_code=201)
    async def add_template(request: Request) -> JSONResponse:
        spec = json.loads(await request.body() or b"{}")
        if not isinstance(spec, dict) or not re.fullmatch(_UUID, str(spec.get("id", ""))):
            return JSONResponse({"error": "a template needs a UUID id"}, status_code=400)
        keys = spec.get("personalisation") or []
        template = Template(
            id=str(spec["id"]).lower(),
            type=str(spec.get("type", "email")),
            personalisation=[str(k) for k in keys],
            subject=str(spec.get("subject", "")),
            body=str(spec.get("body", "")),
        )
        state.templates[template.id] = template
        return JSONResponse({"id": template.id}, status_code=201)


@one_build_at_a_time
def create_app(
    *,
    api_key: str = DEMO_API_KEY,
    now: Callable[[], float] = time.time,
    rate_limit_per_minute: int | None = None,
    rate_clock: Callable[[], float] = time.time,
) -> FastAPI:
    """A fresh Notify simulator accepting `api_key` (raises ValueError for a malformed one);
    `now` is the wall clock the token's `iat` is checked against. `rate_limit_per_minute`:
    Notify's rate limit on the key (None: unlimited), its bucket refilled by `rate_clock`."""
    rate = RateLimit(rate_limit_per_minute, rate_clock) if rate_limit_per_minute else None
    state = NotifyState(api_key, now, rate)
    app = FastAPI(title="GOV.UK Notify simulator", docs_url=None, redoc_url=None)
    faults = install_faults(app, SystemClock())
    _add_routes(app, state)

    @app.post("/__admin/reset")
    async def reset() -> dict[str, int]:
        state.reset()
        faults.clear()
        return {"count": 0}

    app.state.sim = state
    return app
