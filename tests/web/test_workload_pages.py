"""The workload pages (issue 15): who may see which, what they show, no inline style."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, col, select

from bridge.clock import FixedClock
from bridge.store.models import AuditEvent, Staff
from bridge.wiring import Wiring
from tests.builders import ADMIN, PROXY
from tests.services.test_workload import MANAGER, OFFICER, _work
from tests.web.conftest import Visitor


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: these tests check pages over services whose queries and stores run on
    PostgreSQL in their own tests (tests/services/, tests/store/), within `make test`'s budget."""
    return sqlite_url


def _viewed(wiring: Wiring) -> list[tuple[str, dict[str, object]]]:
    with Session(wiring.engine) as s:
        rows = s.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "workload.viewed")
            .order_by(col(AuditEvent.id))
        ).all()
    return [(e.actor, e.detail) for e in rows]


def _no_inline_style(html: str) -> None:
    assert not re.search(r"<style|\sstyle=", html)
    assert "<svg" in html


def test_a_manager_sees_their_team_with_names_and_a_chart(
    synced_wiring: Wiring, visitor: Visitor, clock: FixedClock
) -> None:
    _work(synced_wiring, clock)
    visitor.sign_in(MANAGER)
    page = visitor.client.get("/workload")
    assert page.status_code == 200
    _no_inline_style(page.text)
    assert "Helen Marsh (N07P004)" in page.text
    assert "N07P005" not in page.text  # another team's proxy
    assert "fewer than 3" in page.text  # the provider N07 covers two proxies
    assert not re.search(r"[A-Z]\d{6}", page.text.replace("N07P004", ""))  # no CRN
    csv = visitor.client.get("/workload.csv")
    assert csv.text.splitlines() == [
        "staff,week,tasks,entries,handling_minutes,overdue_at_entry,returned",
        "N07P004,2026-11-23,1,5,435,0,1",
    ]
    assert visitor.client.get("/workload.json").json()[0]["handling_minutes"] == 435
    backlog = visitor.client.get("/backlog")
    assert backlog.status_code == 200
    _no_inline_style(backlog.text)
    assert [view for actor, view in _viewed(synced_wiring) if actor == MANAGER] == [
        {"view": v, "teams": ["N07CHT"], "staff": s, "weeks": w}
        for v, s, w in (("workload", 1, 4), ("csv", 1, 4), ("json", 1, 4), ("backlog", 0, 12))
    ]


def test_a_proxy_sees_only_their_own_work(
    synced_wiring: Wiring, visitor: Visitor, clock: FixedClock
) -> None:
    _work(synced_wiring, clock)
    visitor.sign_in(PROXY)
    for path in ("/workload", "/workload.csv", "/workload.json", "/backlog"):
        assert visitor.client.get(path).status_code == 403, path
    page = visitor.client.get("/my-work")
    assert page.status_code == 200
    _no_inline_style(page.text)
    assert "Entered today" in page.text
    assert "7.2" in page.text  # 435 minutes this week
    assert "N07P005" not in page.text


def test_an_officer_sees_the_time_their_adjustment_takes_on_their_own_page(
    synced_wiring: Wiring, visitor: Visitor, clock: FixedClock
) -> None:
    _work(synced_wiring, clock)
    visitor.sign_in(OFFICER)
    assert visitor.client.get("/workload").status_code == 403
    page = visitor.client.get("/my-work")
    assert "Colleagues&#39; time on your cases" in page.text or "Colleagues' time on" in page.text
    assert "not to judge you" in page.text
    assert "8.2" in page.text  # 435 + 60 minutes on their cases


def test_an_administrator_sees_every_team(
    synced_wiring: Wiring, visitor: Visitor, clock: FixedClock
) -> None:
    _work(synced_wiring, clock)
    visitor.sign_in(ADMIN)
    page = visitor.client.get("/workload")
    assert "Choose a team" in page.text
    assert "N07P004" not in page.text  # names once a team is chosen
    assert 'href="/workload?team=N07HCT&amp;weeks=4"' in page.text
    team = visitor.client.get("/workload?team=N07HCT")
    assert "Tomasz Nowak (N07P005)" in team.text
    assert "N07P004" not in team.text
    _no_inline_style(team.text)


def test_an_administrator_adds_and_edits_a_manager_with_the_teams_they_manage(
    web_wiring: Wiring, visitor: Visitor
) -> None:
    visitor.sign_in(ADMIN)
    data = {"code": "N07M009", "name": "Ola Manager", "roles": "manager", "team": "N07CHT"}
    refused = visitor.post("/admin/staff/new", {**data, "manages": ""})
    assert refused.status_code == 400
    assert "Enter the teams this manager manages" in refused.text
    assert (
        visitor.post("/admin/staff/new", {**data, "manages": "n07cht, N07HCT"}).status_code == 303
    )
    form = visitor.client.get("/admin/staff/N07M009")
    assert 'value="N07CHT N07HCT"' in form.text
    edited = {**data, "manages": "N07LAM", "active": "yes"}
    assert visitor.post("/admin/staff/N07M009", edited).status_code == 303
    with Session(web_wiring.engine) as s:
        person = s.get(Staff, "N07M009")
        assert person is not None
        assert person.manages == ["N07LAM"]
