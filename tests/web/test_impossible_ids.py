"""Entry ids and CRNs that cannot exist are refused exactly as unknown ones (ARCHITECTURE §6,
issue 18), in the CLI, the web and the API. Before: an entry id >= 2^63 gave a 500 and no
audit row."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from bridge.errors import NotPermitted
from bridge.store.models import AuditEvent
from bridge.wiring import Wiring
from tests.builders import MANAGER, PROXY
from tests.web.conftest import Visitor

UNKNOWN_ID = "999999"
IMPOSSIBLE_IDS = ["2147483648", "9223372036854775808", "99999999999999999999999"]


def _refusals(w: Wiring) -> list[tuple[str, int | None, dict[str, object]]]:
    with Session(w.engine) as s:
        rows = s.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "access.refused")
            .order_by(col(AuditEvent.id))
        ).all()
        return [(r.actor, r.entry_id, dict(r.detail)) for r in rows]


def test_the_services_refuse_impossible_ids_and_crns_as_unknown(web_wiring: Wiring) -> None:
    for entry_id in (0, -1, 2**31, 2**63, 10**30):
        with pytest.raises(NotPermitted) as refused:
            web_wiring.review.show(entry_id, actor=PROXY)
        assert str(refused.value) == NotPermitted.MESSAGE
    assert _refusals(web_wiring) == [(PROXY, None, {"action": "view"})] * 5
    messages = set()
    for crn in ("Z999999", "b203456", "B2034567", "B20345", "' OR 1=1", "X" * 300):
        with pytest.raises(NotPermitted) as refused:
            web_wiring.status.case(crn, actor=MANAGER)
        messages.add(str(refused.value))
    assert len(messages) == 1


def test_the_api_answers_an_impossible_id_like_an_unknown_one(
    web_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    visitor = new_visitor()
    visitor.sign_in(PROXY)
    client: TestClient = visitor.client
    unknown = client.get(f"/api/entries/{UNKNOWN_ID}")
    assert unknown.status_code in (403, 404)
    for entry_id in IMPOSSIBLE_IDS:
        response = client.get(f"/api/entries/{entry_id}")
        assert (response.status_code, response.json()) == (unknown.status_code, unknown.json())
    for entry_id in ("0", "-1"):  # below the path's minimum: refused as unknown, not a 400
        response = client.get(f"/api/entries/{entry_id}")
        assert (response.status_code, response.json()) == (unknown.status_code, unknown.json())
    long_crn = client.get(f"/api/cases/{'B' * 40}/status")
    assert (long_crn.status_code, long_crn.json()) == (unknown.status_code, unknown.json())
    for entry_id in (IMPOSSIBLE_IDS[1], "0"):
        page = client.get(f"/entries/{entry_id}")
        assert page.status_code == client.get(f"/entries/{UNKNOWN_ID}").status_code
    refusals = _refusals(web_wiring)
    assert len(refusals) >= 1 + len(IMPOSSIBLE_IDS) + 3
    assert all(entry_id in (None, int(UNKNOWN_ID)) for _, entry_id, _ in refusals)
