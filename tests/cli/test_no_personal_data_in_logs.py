"""No personal data in logs (issue 17): a demo-sized flow — sync of every fixture case, review,
submission to a faulty ViSOR, a status view, an erasure — run verbosely, and every log line,
stdout and stderr searched for every fixture name, date of birth, postcode, PNC and note.

`entry show` prints the record by design (to a vetted proxy): it is left out of the flow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.builders import ADMIN, FIXTURES, MANAGER, PROXY, Cli, case_doc
from tests.loopback import local

#: Keys of the fixture documents whose values are personal data or free text.
PERSONAL = {
    "firstName",
    "forename",
    "forenames",
    "middleNames",
    "surname",
    "previousSurname",
    "preferredName",
    "dateOfBirth",
    "postcode",
    "pncNumber",
    "croNumber",
    "niNumber",
    "notes",
    "deregisteringNotes",
    "streetName",
    "telephoneNumber",
    "emailAddress",
}


def _values(node: Any, key: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _values(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _values(v, key)
    elif key in PERSONAL and isinstance(node, str) and len(node.strip()) >= 4:
        yield node.strip()


def personal_values() -> set[str]:
    found: set[str] = set()
    for path in (FIXTURES / "ndelius" / "cases").glob("*.json"):
        found |= set(_values(case_doc(path.stem)))
    staff = json.loads((FIXTURES / "staff.json").read_text(encoding="utf-8"))
    names = {p["name"] for p in staff["staff"]}
    found |= names  # each part of a staff member's full name on its own, too
    found |= {part for name in names for part in name.split() if len(part) >= 4}
    return found


def test_a_demo_sized_flow_logs_no_personal_data(
    cli: Cli,
    ndelius_url: str,
    visor_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def run(*argv: str) -> str:
        code, out, err = cli("--verbose", *argv)
        seen.extend([out, err])
        assert code in (0, 1), (argv, err)
        return out

    sync = json.loads(run("sync", "--json"))
    assert sync["entries_created"] > 20
    rows = json.loads(run("queue", "list", "--json"))
    clean = [r for r in rows if not r["issues"]]
    for row in clean[:8]:
        run("entry", "claim", str(row["id"]), "--as", PROXY)
        run("entry", "approve", str(row["id"]), "--as", PROXY, "--version", "1")
    returned = clean[8]
    run("entry", "claim", str(returned["id"]), "--as", PROXY)
    run("entry", "reject", str(returned["id"]), "--as", PROXY, "--reason", "Check the category")

    # ViSOR quotes the record back (a surname with an apostrophe, a date of birth), then fails
    victim = case_doc(clean[0]["crn"])["offender"]
    quoted = [
        f"line 4: Element 'Surname': [facet 'pattern'] The value '{victim['surname']}' is bad.",
        f"Element 'DateOfBirth': '{victim['dateOfBirth']}' is not a valid value of the atomic type",
        "Element 'Surname': [facet 'pattern'] The value 'O'Brien' is not accepted.",
    ]
    for status, body in ((422, json.dumps({"errors": quoted})), (503, "down")):
        local.post(
            f"{visor_url}/__admin/faults",
            json={"path": "^/records$", "status": status, "count": 2, "body": body},
        ).raise_for_status()
    monkeypatch.setenv("BRIDGE_SINK", "visor-http")
    monkeypatch.setenv("BRIDGE_VISOR_URL", visor_url)
    monkeypatch.setenv("BRIDGE_RETRY_BASE_SECONDS", "0")
    submitted = json.loads(run("submit", "--json"))
    assert submitted["failed"] >= 1
    run("submit", "--json")
    run("status", returned["crn"], "--as", MANAGER, "--json")
    run("admin", "attention", "--as", ADMIN, "--json")
    run("audit", "export", "--crn", clean[0]["crn"], "--as", ADMIN, "--json")
    run("audit", "verify", "--json")

    gone = clean[1]["crn"]
    local.delete(f"{ndelius_url}/__admin/cases/{gone}").raise_for_status()
    assert json.loads(run("sync", "--json"))["cases_erased"] == 1

    logged = [f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records]
    text = "\n".join(seen + logged)
    assert "sync" in text  # the logs were captured at all
    leaks = sorted(v for v in personal_values() if v in text)
    assert leaks == [], f"personal data in logs or output: {leaks[:10]}"


def test_the_check_finds_a_planted_value(tmp_path: Path) -> None:
    """Guards the test above: the values it looks for are the fixtures' own."""
    values = personal_values()
    doc = case_doc("A117839")["offender"]
    assert doc["surname"] in values
    assert doc["dateOfBirth"] in values
    assert len(values) > 50
