"""Case tasks in the JSON API: sign-in, the CSRF header, audited views, approve all or nothing.

Through the real app on SQLite after a real sync of the fixture cases.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from bridge.store.models import AuditEvent
from bridge.wiring import Wiring
from tests.builders import ADMIN, PROXY, PROXY_2
from tests.web.conftest import Visitor


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: these requests drive bridge/services/tasks.py, whose claims, holds,
    renewals, lapses, approvals, releases and reassignments run on PostgreSQL in
    tests/services/ (test_tasks.py, test_held_forms.py, test_admin.py, test_review.py), within
    `make test`'s budget."""
    return sqlite_url


def _client(new_visitor: type[Visitor], code: str) -> tuple[TestClient, dict[str, str]]:
    visitor = new_visitor()
    visitor.sign_in(code)
    token = visitor.client.get("/api/csrf-token").json()["csrf_token"]
    return visitor.client, {"X-CSRF-Token": token}


def _count(wiring: Wiring, action: str) -> int:
    with Session(wiring.engine) as s:
        stmt = select(AuditEvent.id).where(col(AuditEvent.action) == action)
        return len(s.exec(stmt).all())


def test_tasks_need_a_session_and_posts_need_the_csrf_header(
    synced_wiring: Wiring, visitor: Visitor, new_visitor: type[Visitor]
) -> None:
    for method, path in (("get", "/api/tasks"), ("post", "/api/tasks/claim-next")):
        response = getattr(visitor.client, method)(path)
        assert response.status_code == 401, path
    client, headers = _client(new_visitor, PROXY)
    refused = client.post("/api/tasks/claim-next")
    assert refused.status_code == 403
    assert _count(synced_wiring, "entry.claimed") == 0
    wrong = client.post("/api/tasks/claim-next", headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    assert client.post("/api/tasks/claim-next", headers=headers).status_code == 200


def test_a_task_through_the_api(synced_wiring: Wiring, new_visitor: type[Visitor]) -> None:
    client, headers = _client(new_visitor, PROXY)
    listing = client.get("/api/tasks?per_page=5").json()
    assert listing["total"] >= len(listing["rows"]) > 0
    assert all(r["name"] for r in listing["rows"])  # a vetted proxy sees names

    task = client.post("/api/tasks/claim-next", headers=headers).json()
    crn = task["crn"]
    assert crn == listing["rows"][0]["crn"]
    assert {(e["status"], e["label"]) for e in task["entries"]} == {("claimed", "With a proxy")}
    mine = client.get("/api/tasks?mine=true").json()["rows"]
    assert [r["crn"] for r in mine] == [crn]

    # Held: a colleague is refused.
    other, other_headers = _client(new_visitor, PROXY_2)
    held = other.post(f"/api/tasks/{crn}/claim", headers=other_headers)
    assert held.status_code == 409
    assert "held by" in held.json()["error"]["message"]

    viewed = _count(synced_wiring, "entry.viewed")
    shown = client.get(f"/api/tasks/{crn}?purpose=entering").json()
    assert _count(synced_wiring, "entry.viewed") == viewed + len(shown["entries"])
    assert shown["held_by"] == PROXY
    assert all(e["section_label"] and e["kind_label"] for e in shown["entries"])
    versions = {str(e["id"]): e["version"] for e in shown["entries"]}
    blocked = [e["id"] for e in shown["entries"] if any(i["blocking"] for i in e["issues"])]

    stale = {**versions, next(iter(versions)): 99}
    refused = client.post(f"/api/tasks/{crn}/approve", json={"versions": stale}, headers=headers)
    assert refused.status_code == 409
    problems = {f["problem"] for f in refused.json()["error"]["failures"]}
    assert "stale-version" in problems
    assert _count(synced_wiring, "entry.approved") == 0

    clean = {k: v for k, v in versions.items() if int(k) not in blocked}
    approved = client.post(f"/api/tasks/{crn}/approve", json={"versions": clean}, headers=headers)
    assert approved.status_code == 200, approved.text
    assert {e["label"] for e in approved.json()["entries"]} == {"Approved"}
    entered = client.post(
        f"/api/tasks/{crn}/entered", json={"reference": "VIS/2026/5"}, headers=headers
    )
    assert entered.status_code == 200, entered.text
    assert {e["label"] for e in entered.json()["entries"]} == {"Entered in ViSOR"}


def test_administrators_release_and_reassign(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    client, headers = _client(new_visitor, PROXY)
    crn = client.post("/api/tasks/claim-next", headers=headers).json()["crn"]
    assert client.post(f"/api/tasks/{crn}/force-release", headers=headers).status_code == 403
    admin, admin_headers = _client(new_visitor, ADMIN)
    freed = admin.post(f"/api/tasks/{crn}/force-release", headers=admin_headers)
    assert freed.status_code == 200
    moved = admin.post(f"/api/tasks/{crn}/reassign", json={"to": PROXY_2}, headers=admin_headers)
    assert moved.status_code == 200
    assert {e["status"] for e in moved.json()["entries"]} == {"claimed"}


def test_the_openapi_document_lists_the_task_endpoints(app_client: TestClient) -> None:
    paths = app_client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/tasks",
        "/api/tasks/claim-next",
        "/api/tasks/{crn}",
        "/api/tasks/{crn}/claim",
        "/api/tasks/{crn}/release",
        "/api/tasks/{crn}/approve",
        "/api/tasks/{crn}/entered",
    ):
        assert path in paths, path
