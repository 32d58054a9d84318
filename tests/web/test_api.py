"""The JSON API: the pages' sign-in and rules, the queue, audited entries, case status, OpenAPI.

Through the real app on SQLite and PostgreSQL after a real sync of the fixture cases. The fixture
proxy N07P004 is excluded from F600218 and left out of N480937's restriction list; N07P005 may
handle both (fixtures/README.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from bridge.clock import FixedClock
from bridge.store.models import AuditEvent, Entry
from bridge.wiring import Wiring
from tests.builders import MakeWiring
from tests.web.conftest import Visitor, set_passwords
from tests.web_app import create_app

HIDDEN_FROM_N07P004 = {"F600218", "N480937"}
WAITING = ("pending", "claimed", "approved", "failed")


def _signed_in(new_visitor: type[Visitor], code: str) -> TestClient:
    visitor = new_visitor()
    visitor.sign_in(code)
    return visitor.client


def _all_rows(client: TestClient, query: str = "") -> list[dict[str, Any]]:
    """Every queue row through the pages of 100 (the largest page)."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        response = client.get(f"/api/queue?per_page=100&page={page}{query}")
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["rows"]
        if page >= body["pages"]:
            return rows
        page += 1


def _entry_of(wiring: Wiring, crn: str) -> int:
    with Session(wiring.engine) as s:
        entry_id = s.exec(select(Entry.id).where(Entry.crn == crn).order_by(col(Entry.id))).first()
    assert entry_id is not None
    return entry_id


def _audit(wiring: Wiring, action: str) -> list[AuditEvent]:
    with Session(wiring.engine) as s:
        return list(
            s.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
            )
        )


def test_without_a_session_every_endpoint_answers_401_json(
    synced_wiring: Wiring, visitor: Visitor
) -> None:
    entry_id = _entry_of(synced_wiring, "B219904")
    for path in ("/api/queue", f"/api/entries/{entry_id}", "/api/cases/B219904/status"):
        response = visitor.client.get(path, follow_redirects=False)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"error": {"status": 401, "message": "Sign in to continue."}}
    assert _audit(synced_wiring, "entry.viewed") == []


def test_the_queue_hides_cases_the_proxy_may_not_handle(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    with Session(synced_wiring.engine) as s:
        waiting = s.exec(
            select(func.count()).select_from(Entry).where(col(Entry.status).in_(WAITING))
        ).one()
    assert waiting > 25  # more than one page, so paging is exercised
    everything = _all_rows(_signed_in(new_visitor, "N07P005"))
    assert len(everything) == waiting
    assert {r["crn"] for r in everything} >= HIDDEN_FROM_N07P004
    mine = _all_rows(_signed_in(new_visitor, "N07P004"))
    assert {r["crn"] for r in mine} == {r["crn"] for r in everything} - HIDDEN_FROM_N07P004
    assert len(mine) == sum(r["crn"] not in HIDDEN_FROM_N07P004 for r in everything)
    # Earliest due first, ties by id; metadata only.
    assert [(r["due_date"], r["id"]) for r in mine] == sorted(
        (r["due_date"], r["id"]) for r in mine
    )
    assert set(mine[0]) == {
        "id",
        "crn",
        "section",
        "kind",
        "status",
        "on_behalf_of",
        "owning_force",
        "created_at",
        "due_date",
        "overdue",
        "claimed_by",
        "issues",
    }


def test_the_queue_pages_and_filters(synced_wiring: Wiring, new_visitor: type[Visitor]) -> None:
    client = _signed_in(new_visitor, "N07P005")
    every = _all_rows(client)
    body = client.get("/api/queue?per_page=5&page=2").json()
    assert body["page"] == 2
    assert body["per_page"] == 5
    assert body["total"] == len(every)
    assert body["pages"] == -(-len(every) // 5)
    assert [r["id"] for r in body["rows"]] == [r["id"] for r in every[5:10]]
    default = client.get("/api/queue").json()
    assert (default["page"], default["per_page"], len(default["rows"])) == (1, 25, 25)

    crn = client.get("/api/queue?crn=%20b219904%20").json()  # trimmed, any case
    assert crn["total"] == sum(r["crn"] == "B219904" for r in every) > 0
    assert {r["crn"] for r in crn["rows"]} == {"B219904"}
    assert client.get("/api/queue?crn=F600218").json()["total"] > 0
    assert _signed_in(new_visitor, "N07P004").get("/api/queue?crn=F600218").json()["total"] == 0

    kinds = {r["kind"] for r in every}
    assert {"activity", "nominal-create"} <= kinds
    activity = client.get("/api/queue?kind=activity").json()
    assert activity["total"] == sum(r["kind"] == "activity" for r in every)
    assert {r["kind"] for r in activity["rows"]} == {"activity"}
    force = every[0]["owning_force"]
    assert client.get(f"/api/queue?force={force}").json()["total"] == sum(
        r["owning_force"] == force for r in every
    )
    assert client.get("/api/queue?state=accepted").json()["total"] == 0

    assert client.get("/api/queue?due=overdue").json()["total"] == 0
    clock = synced_wiring.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(days=30).total_seconds())
    client = _signed_in(new_visitor, "N07P005")  # the old session has timed out meanwhile
    overdue = client.get("/api/queue?due=overdue&per_page=100").json()
    assert overdue["total"] == len(every)
    assert all(r["overdue"] for r in overdue["rows"])


def test_bad_query_parameters_are_400_json(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    client = _signed_in(new_visitor, "N07P005")
    for query in ("page=abc", "page=0", "per_page=101", "due=someday", "state=lost"):
        response = client.get(f"/api/queue?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]["status"] == 400
    assert client.get("/api/entries/abc").status_code == 400


def test_only_a_vetted_proxy_may_read_the_queue_or_an_entry(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    entry_id = _entry_of(synced_wiring, "B219904")
    for code in ("N02P006", "N07A001", "ADM0001"):  # vetting expired; no proxy role
        client = _signed_in(new_visitor, code)
        for path in ("/api/queue", f"/api/entries/{entry_id}"):
            response = client.get(path)
            assert response.status_code == 403, (code, path)
            assert "xml" not in response.text
    assert _audit(synced_wiring, "entry.viewed") == []


def test_an_entry_is_an_audited_consultation(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    entry_id = _entry_of(synced_wiring, "A117839")
    client = _signed_in(new_visitor, "N07P004")
    body = client.get(f"/api/entries/{entry_id}", params={"purpose": "review"}).json()
    assert body["id"] == entry_id
    assert body["crn"] == "A117839"
    assert body["version"] == 1
    assert body["status"] == "pending"
    assert body["claimed_by"] is None
    assert body["owning_force"]
    assert body["xml"].startswith("<")
    assert isinstance(body["diff"], list)
    assert body["diff"]
    assert set(body["diff"][0]) >= {"path", "before", "after"}
    assert isinstance(body["issues"], list)
    assert body["history"][-1]["action"] == "entry.viewed"
    assert body["history"][-1]["actor"] == "N07P004"
    viewed = _audit(synced_wiring, "entry.viewed")
    assert [(e.actor, e.entry_id, e.category) for e in viewed] == [
        ("N07P004", entry_id, "consultation")
    ]
    assert viewed[0].detail == {"version": 1, "purpose": "review"}


def test_an_excluded_entry_and_a_missing_one_are_refused_alike(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    excluded, restricted = _entry_of(synced_wiring, "F600218"), _entry_of(synced_wiring, "N480937")
    client = _signed_in(new_visitor, "N07P004")
    answers = [client.get(f"/api/entries/{i}") for i in (excluded, restricted, 99_999_999)]
    assert [a.status_code for a in answers] == [403, 403, 403]
    assert answers[0].content == answers[1].content == answers[2].content
    refused = _audit(synced_wiring, "access.refused")
    assert [(e.actor, e.entry_id, e.detail) for e in refused] == [
        ("N07P004", excluded, {"action": "view"}),
        ("N07P004", restricted, {"action": "view"}),
        ("N07P004", 99_999_999, {"action": "view"}),
    ]
    assert _audit(synced_wiring, "entry.viewed") == []
    # The proxy allowed on those cases sees them.
    assert _signed_in(new_visitor, "N07P005").get(f"/api/entries/{excluded}").status_code == 200


def test_a_purpose_is_needed_when_the_service_requires_one(
    make_wiring: MakeWiring, db_url: str, ndelius_url: str
) -> None:
    wiring = make_wiring(db_url, ndelius_url, view_purpose_required=True)
    set_passwords(wiring)
    with wiring.ndelius() as source:
        wiring.sync_service(source).run(full=True)
    entry_id = _entry_of(wiring, "A117839")
    with TestClient(create_app(wiring)) as client:
        Visitor(client).sign_in("N07P005")
        missing = client.get(f"/api/entries/{entry_id}")
        assert missing.status_code == 400
        assert "Say why you are viewing" in missing.json()["error"]["message"]
        assert client.get(f"/api/entries/{entry_id}?purpose=%20%20").status_code == 400
        assert client.get(f"/api/entries/{entry_id}?purpose=review").status_code == 200
    assert [e.detail for e in _audit(wiring, "entry.viewed")] == [
        {"version": 1, "purpose": "review"}
    ]


def test_case_status_for_its_manager_only(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    with Session(synced_wiring.engine) as s:
        ids = set(s.exec(select(Entry.id).where(Entry.crn == "B219904")))
    assert ids
    response = _signed_in(new_visitor, "N07A001").get("/api/cases/b219904/status")
    assert response.status_code == 200
    body = response.json()
    assert body["crn"] == "B219904"
    assert {e["id"] for e in body["entries"]} == ids
    assert all(
        set(e)
        == {"id", "section", "kind", "status", "created_at", "due_date", "entered_at", "reason"}
        for e in body["entries"]
    )
    # A proxy who may handle the case and an administrator are refused like anyone else:
    # it is the managing officer's view (the stricter of the two views it replaced).
    refused = [
        _signed_in(new_visitor, code).get("/api/cases/B219904/status")
        for code in ("N07P005", "ADM0001")
    ]
    assert [r.status_code for r in refused] == [403, 403]
    assert refused[0].content == refused[1].content
    viewed = _audit(synced_wiring, "status.viewed")
    assert [(e.actor, e.crn) for e in viewed] == [("N07A001", "B219904")]


def test_case_status_refuses_others_without_saying_whether_the_case_exists(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    other_manager = _signed_in(new_visitor, "N07A002")  # manages A117839, not B219904
    assert other_manager.get("/api/cases/A117839/status").status_code == 200
    answers = [
        other_manager.get("/api/cases/B219904/status"),  # exists, someone else's
        other_manager.get("/api/cases/Z999999/status"),  # no such case
        _signed_in(new_visitor, "N07P004").get("/api/cases/F600218/status"),  # excluded proxy
    ]
    assert [a.status_code for a in answers] == [403, 403, 403]
    assert answers[0].content == answers[1].content == answers[2].content
    assert len(_audit(synced_wiring, "access.refused")) == 3


def test_openapi_documents_the_api_and_only_the_api(visitor: Visitor) -> None:
    response = visitor.client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert set(doc["paths"]) == {
        "/api/queue",
        "/api/entries/{entry_id}",
        "/api/cases/{crn}/status",
        "/api/csrf-token",
        "/api/tasks",
        "/api/tasks/claim-next",
        "/api/tasks/{crn}",
        "/api/tasks/{crn}/claim",
        "/api/tasks/{crn}/release",
        "/api/tasks/{crn}/approve",
        "/api/tasks/{crn}/entered",
        "/api/tasks/{crn}/force-release",
        "/api/tasks/{crn}/reassign",
        "/healthz",
        "/readyz",
    }
    schemas = doc["components"]["schemas"]

    def ok_schema(path: str) -> str:
        content = doc["paths"][path]["get"]["responses"]["200"]["content"]
        return str(content["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]

    assert ok_schema("/api/queue") == "QueueResponse"
    assert ok_schema("/api/entries/{entry_id}") == "EntryResponse"
    assert ok_schema("/api/cases/{crn}/status") == "CaseStatusResponse"
    assert set(schemas["QueueResponse"]["properties"]) == {
        "rows",
        "total",
        "page",
        "per_page",
        "pages",
    }
    assert {"xml", "diff", "issues", "version", "history"} <= set(
        schemas["EntryResponse"]["properties"]
    )
    assert "xml" not in schemas["CaseStatusResponse"]["properties"]
    queue = doc["paths"]["/api/queue"]["get"]
    assert {p["name"] for p in queue["parameters"]} == {
        "state",
        "force",
        "due",
        "kind",
        "crn",
        "page",
        "per_page",
    }
    for status in ("400", "401", "403"):
        assert queue["responses"][status]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorBody"
        )
