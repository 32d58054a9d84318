"""The JSON API fuzzed from outside with schemathesis (issue 18): every operation of
/api/openapi.json, signed in as each role (and as nobody), with generated parameters.

Checks: no 500, every response inside its documented status codes, content type and schema,
and no content for a role that may not see it (only a vetted proxy gets a 200 from the queue
or an entry; nobody but an offender manager gets a case's status). A few examples per
operation and role in the test suite; `make fuzz` (the hypothesis "fuzz" profile) runs many.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bridge.web.session import COOKIE
from bridge.wiring import Wiring
from tests.builders import ADMIN, EXPIRED_PROXY, MANAGER, PROXY
from tests.web.conftest import Visitor, set_passwords
from tests.web_app import create_app

#: A proxy's work by case (bridge/web/routes/api_tasks.py).
TASKS = {
    "/api/tasks",
    "/api/tasks/{crn}",
    "/api/tasks/claim-next",
    "/api/tasks/{crn}/claim",
    "/api/tasks/{crn}/release",
    "/api/tasks/{crn}/approve",
    "/api/tasks/{crn}/entered",
}
#: Who signs in, and which operations may answer them 200 (the CSRF token: anyone signed in).
ROLES: dict[str | None, set[str]] = {
    None: set(),  # not signed in
    PROXY: {
        "/api/queue", "/api/entries/{entry_id}", "/api/cases/{crn}/status", "/api/csrf-token",
        *TASKS,
    },
    EXPIRED_PROXY: {"/api/cases/{crn}/status", "/api/csrf-token"},  # vetting expired
    MANAGER: {"/api/cases/{crn}/status", "/api/csrf-token"},
    # administrators never see content: the task list's metadata and moving claims only
    ADMIN: {
        "/api/csrf-token", "/api/tasks", "/api/tasks/{crn}/force-release",
        "/api/tasks/{crn}/reassign",
    },
}  # fmt: skip
#: Answer everyone (load balancers' probes; no content).
PUBLIC = {"/healthz", "/readyz"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _examples() -> int:
    """Bounded in the suite; the fuzz profile's (many more) under `make fuzz`."""
    configured = settings().max_examples
    return 5 if configured <= 100 else configured // 4  # 500 per operation and role


@pytest.mark.hypothesis
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the rules are the services'
def test_the_api_holds_its_schema_and_its_rules_for_every_role(
    synced_wiring: Wiring, subtests: pytest.Subtests
) -> None:
    set_passwords(synced_wiring)
    app = create_app(synced_wiring)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    cookies: dict[str | None, dict[str, str]] = {None: {}}
    headers: dict[str | None, dict[str, str]] = {None: {}}
    for code in ROLES:
        if code is not None:  # signed in, with the session's CSRF token for the POSTs
            visitor = Visitor(TestClient(app))
            visitor.sign_in(code)
            cookies[code] = {COOKIE: str(visitor.client.cookies[COOKIE])}
            token = visitor.client.get("/api/csrf-token").json()["csrf_token"]
            headers[code] = {"X-CSRF-Token": token}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/queue", "/api/entries/{entry_id}"}
    for operation in operations:
        for code, may_see in ROLES.items():
            with subtests.test(operation=operation.label, role=code or "anonymous"):
                _fuzz(operation, code, may_see, cookies[code], headers[code])


def _fuzz(
    operation: Any,
    code: str | None,
    may_see: set[str],
    cookies: dict[str, str],
    headers: dict[str, str],
) -> None:
    """Generated requests to one operation as one role, each response checked."""

    @settings(
        max_examples=_examples(),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        response = case.call(cookies=cookies, headers=headers)
        case.validate_response(response, checks=CHECKS)
        if response.status_code == 200 and operation.path not in may_see | PUBLIC:
            raise AssertionError(f"{code or 'anonymous'} got content from {operation.label}")

    check()
