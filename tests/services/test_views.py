"""What services hand the entrypoints: typed views whose JSON is the documented contract."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from bridge.core.lifecycle import State
from bridge.services.views import CaseStatus, QueueRow, StatusEntry, jsonable


def test_jsonable_keeps_field_order_and_writes_dates_as_iso_text() -> None:
    status = CaseStatus(
        crn="X320741",
        entries=[
            StatusEntry(
                id=7,
                section="identity",
                kind="nominal-create",
                status=State.REJECTED,
                created_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
                due_date=date(2026, 11, 26),
                entered_at=None,
                reason="Screen the case first.",
            )
        ],
    )
    assert json.dumps(jsonable(status)) == json.dumps(
        {
            "crn": "X320741",
            "entries": [
                {
                    "id": 7,
                    "section": "identity",
                    "kind": "nominal-create",
                    "status": "rejected",
                    "created_at": "2026-11-23T09:30:00+00:00",
                    "due_date": "2026-11-26",
                    "entered_at": None,
                    "reason": "Screen the case first.",
                }
            ],
        }
    )


def test_a_queue_row_lists_the_contract_keys_and_overdue() -> None:
    row = QueueRow(
        id=1,
        crn="X320741",
        kind="nominal-create",
        section="identity",
        status="pending",
        on_behalf_of="N07A001",
        created_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
        due_date=date(2026, 11, 26),
        issues=[],
        overdue=False,
        owning_force="01",
        claimed_by=None,
    )
    assert list(row.listed()) == [
        "id",
        "crn",
        "kind",
        "section",
        "status",
        "on_behalf_of",
        "created_at",
        "due_date",
        "issues",
        "overdue",
    ]
