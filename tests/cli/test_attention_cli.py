"""`visor-bridge admin attention`: cases a person must look at, in-process on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from bridge.errors import NotPermitted
from tests.builders import ADMIN, PROXY, Cli, case_doc, only_cases
from tests.loopback import local

CRN = "B203456"


def _undetermined(doc: dict[str, Any]) -> dict[str, Any]:
    """Two offender managers with no toDate and no `active` flag."""
    first = doc["offender"]["offenderManagers"][0]
    first.pop("active", None)
    second = copy.deepcopy(first)
    second["staff"]["code"] = "N02A099"
    doc["offender"]["offenderManagers"] = [first, second]
    return doc


def test_admin_attention_lists_crn_reason_and_since_and_refuses_others(
    db_cli: Cli, ndelius_url: str
) -> None:
    only_cases(ndelius_url, {CRN})
    db_cli.json("sync")
    assert db_cli.json("admin", "attention", "--as", ADMIN) == []
    code, out, err = db_cli("admin", "attention", "--as", ADMIN)
    assert (code, out) == (0, "")
    assert "No case needs" in err

    local.put(f"{ndelius_url}/__admin/cases/{CRN}", json=_undetermined(case_doc(CRN)))
    db_cli.json("sync")
    rows = db_cli.json("admin", "attention", "--as", ADMIN)
    assert [sorted(r) for r in rows] == [["crn", "reason", "since"]]
    assert (rows[0]["crn"], rows[0]["reason"]) == (CRN, "officer_undetermined")
    assert datetime.fromisoformat(rows[0]["since"]).tzinfo is not None  # an ISO datetime, UTC

    code, out, _err = db_cli("admin", "attention", "--as", ADMIN)
    assert code == 0
    assert CRN in out
    assert "officer_undetermined" in out
    assert "No current offender manager" in out  # the web's words for it, and what to do
    assert "probation delivery unit" in " ".join(out.split())

    code, out, err = db_cli("admin", "attention", "--as", PROXY, "--json")
    assert (code, out) == (1, "")
    assert err.strip().splitlines()[-1].endswith(NotPermitted.MESSAGE)
