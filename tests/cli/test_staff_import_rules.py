"""The staff file import's rules (ARCHITECTURE §6, issue 18): the form's validation for every
record, codes trimmed and upper-cased, duplicates after that or any invalid record refuse the
whole file (exit 2, nothing written), unknown keys ignored.

Before: a code differing only by whitespace replaced a proxy with an admin-only record, and bad
input exited 1 with "unexpected error"."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, create_engine, select

from bridge.store.models import Staff
from tests.builders import PROXY, Cli


def _registry() -> dict[str, Staff]:
    engine = create_engine(os.environ["BRIDGE_DATABASE_URL"])
    try:
        with Session(engine) as s:
            return {p.code: p for p in s.exec(select(Staff))}
    finally:
        engine.dispose()


def _file(tmp_path: Path, *staff: dict[str, Any]) -> str:
    path = tmp_path / "staff-change.json"
    path.write_text(json.dumps({"staff": list(staff)}), encoding="utf-8")
    return str(path)


PROXY_RECORD = {
    "code": PROXY,
    "name": "Sam Example",
    "roles": ["proxy", "offender_manager"],
    "team": "N07CHT",
    "vetting": {"level": "NPPV2", "expires": "2027-05-31"},
}


def test_a_code_differing_only_by_whitespace_or_case_is_a_duplicate(
    cli: Cli, tmp_path: Path
) -> None:
    before = {c: (p.roles, p.vetting_level) for c, p in _registry().items()}
    for twin in (f" {PROXY} ", PROXY.lower()):
        admin_only = {"code": twin, "name": "Kim Example", "roles": ["admin"]}
        code, _, err = cli("staff", "import", _file(tmp_path, PROXY_RECORD, admin_only))
        assert code == 2, err
        assert "appears twice" in err
        assert "Traceback" not in err
    assert {c: (p.roles, p.vetting_level) for c, p in _registry().items()} == before


@pytest.mark.parametrize(
    ("record", "says"),
    [
        ({"code": "N07X001", "name": 5, "roles": ["admin"]}, "name: must be text"),
        ({"code": "N07X001", "roles": "admin"}, "roles: must be a list"),
        ({"code": "N07X001", "roles": [["admin"]]}, "roles: must be a list"),
        ({"code": "N07X001", "roles": ["admin"], "team": 7}, "team: must be text"),
        ({"code": "N0", "roles": ["admin"]}, "Staff code must be 3 to 16"),
        ({"code": "N07X001", "roles": ["proxy"], "vetting": {"level": "NPPV9", "expires": "2027-01-01"}}, "Vetting level must be one of"),
        ({"code": "N07X001", "roles": ["proxy"], "vetting": {"level": "NPPV2", "expires": "soon"}}, "Vetting expiry date"),
        ({"code": "N07X001", "roles": ["offender_manager"], "needsProxy": {"since": "2026-02-01", "until": "2026-01-01"}}, "until must be the same as or after"),
        ({"code": "N07X001", "roles": ["admin"], "vetting": ["NPPV2"]}, "must be objects"),
    ],
)  # fmt: skip
def test_an_invalid_record_refuses_the_whole_file_with_exit_2(
    cli: Cli, tmp_path: Path, record: dict[str, Any], says: str
) -> None:
    good = {"code": "N07X002", "name": "New Person", "roles": ["offender_manager"]}
    code, _, err = cli("staff", "import", _file(tmp_path, good, record))
    assert code == 2, err
    assert says in err
    assert "unexpected" not in err.lower()
    assert "N07X002" not in _registry()


def test_codes_are_normalised_and_unknown_keys_ignored(cli: Cli, tmp_path: Path) -> None:
    record = {
        "code": " n07x003 ",
        "name": "Lee Example",
        "roles": ["offender_manager"],
        "team": " n07cht ",
        "email": "lee.example@justice.example",
        "manages": ["N07CHT"],
        "somethingNew": {"any": "thing"},
    }
    code, _, err = cli("staff", "import", _file(tmp_path, record))
    assert code == 0, err
    person = _registry()["N07X003"]
    assert (person.name, person.team, person.roles) == (
        "Lee Example",
        "N07CHT",
        ["offender_manager"],
    )
