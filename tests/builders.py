"""Small deterministic builders that start from fixtures/ (no fuzzy factories)."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from pydantic import SecretStr

from bridge.clock import Clock
from bridge.config import Settings, default_mappings_dir
from bridge.core.snapshot import CaseSnapshot
from bridge.mapping_files import load_mapping
from bridge.services.staff import import_staff, parse_staff_file
from bridge.store.db import session_scope
from bridge.wiring import Wiring
from tests.loopback import http_client

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CASES = FIXTURES / "ndelius" / "cases"
SIM_CLIENT = ("bridge-test", "bridge-test-secret")

#: Expected scope of the fixture cases (fixtures/README.md).
OUT_OF_SCOPE = {"D415066", "E521390", "F613745", "J903381", "J917642", "K120459", "L246013"}
IN_SCOPE = {p.stem for p in CASES.glob("*.json")} - OUT_OF_SCOPE
#: In-scope cases already on ViSOR (AVIS or VISO): adopted at go-live, so nothing queued.
ON_VISOR = {"A104212", "L258390", "M361024", "M375518"}

#: The day the fixtures' staff registry is read as of (proxy vetting current, one expired),
#: and the day on every test's clock.
FIXTURE_TODAY = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)

PROXY = "N07P004"
PROXY_2 = "N07P005"
EXPIRED_PROXY = "N02P006"
MANAGER = "N07A001"
ADMIN = "ADM0001"


@functools.cache
def expected_sections(crn: str) -> tuple[tuple[str, str], ...]:
    """(section, item key) of every entry a first sync queues for a fixture case.

    Worked out by the packaged mapping: every section with something in it (an empty aliases
    section is nothing to enter), and one activity entry per ViSOR-flagged contact.
    """
    mapper = load_mapping(default_mappings_dir()).mapper
    mapped = mapper.map_case(CaseSnapshot.from_document(crn, case_doc(crn)))
    return tuple((s.name, s.key) for s in mapped.sections if not s.is_empty)


def expected_entry_count(crns: Iterable[str]) -> int:
    return sum(len(expected_sections(crn)) for crn in crns)


def case_doc(crn: str) -> dict[str, Any]:
    """A fixture case document, ready to change and PUT to the simulator."""
    return copy.deepcopy(json.loads((CASES / f"{crn}.json").read_text(encoding="utf-8")))


def staff_file(folder: Path, today: date) -> Path:
    """fixtures/staff.json with its dates moved relative to `today`, so tests never rot."""
    data = json.loads((FIXTURES / "staff.json").read_text(encoding="utf-8"))
    for person in data["staff"]:
        vetting = person.get("vetting")
        if vetting:
            expired = date.fromisoformat(vetting["expires"]) < date(2026, 11, 23)
            vetting["expires"] = (today + timedelta(days=-30 if expired else 365)).isoformat()
        needs = person.get("needsProxy")
        if needs:
            needs["since"] = (today - timedelta(days=300)).isoformat()
            if needs.get("until"):
                needs["until"] = (today - timedelta(days=30)).isoformat()
    path = folder / "staff.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def settings(db_url: str, ndelius_url: str = "http://127.0.0.1:9", **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "development",
        "database_url": db_url,
        "ndelius_url": ndelius_url,
        "ndelius_client_id": SIM_CLIENT[0],
        "ndelius_client_secret": SecretStr(SIM_CLIENT[1]),
        "http_max_wait_seconds": 0,
        "http_timeout_seconds": 5,
        "retry_base_seconds": 0,
        "sync_page_size": 50,
    }
    values.update(overrides)
    return Settings(**values)


#: argon2 at its cheapest (about 1 ms, against 0.7 s for the library's defaults, which the
#: product uses): tests hash and verify passwords hundreds of times. A hash records its own
#: parameters, so the product's verify and rehash rules are exercised all the same.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def wiring_for_test(db_url: str, ndelius_url: str, clock: Clock, **overrides: Any) -> Wiring:
    """A wiring for a test: test settings, the given clock, cheap password hashing."""
    return Wiring(
        settings(db_url, ndelius_url, **overrides), clock=clock, password_hasher=FAST_HASHER
    )


def seeded_wiring(
    db_url: str, ndelius_url: str, clock: Clock, folder: Path, **overrides: Any
) -> Wiring:
    """A wiring over a migrated database with the fixture staff imported."""
    wiring = wiring_for_test(db_url, ndelius_url, clock, **overrides)
    with session_scope(wiring.engine) as s:
        import_staff(
            s,
            parse_staff_file(staff_file(folder, clock.now().date())),
            now=clock.now(),
            actor="test",
        )
    return wiring


def env_for(db_url: str, ndelius_url: str) -> dict[str, str]:
    """BRIDGE_* variables for running the CLI against a test database and simulator."""
    return {
        "BRIDGE_ENVIRONMENT": "development",
        "BRIDGE_DATABASE_URL": db_url,
        "BRIDGE_NDELIUS_URL": ndelius_url,
        "BRIDGE_NDELIUS_CLIENT_ID": SIM_CLIENT[0],
        "BRIDGE_NDELIUS_CLIENT_SECRET": SIM_CLIENT[1],
        "BRIDGE_HTTP_MAX_WAIT_SECONDS": "0",
        "BRIDGE_RETRY_BASE_SECONDS": "0",
    }


#: The type of the `make_wiring` fixture.
MakeWiring = Callable[..., Wiring]


def only_cases(ndelius_url: str, keep: set[str]) -> None:
    """Delete every fixture case but `keep` from the simulator (keeps a sync short)."""

    with http_client(base_url=ndelius_url) as admin:
        for crn in sorted((IN_SCOPE | OUT_OF_SCOPE) - keep):
            admin.delete(f"/__admin/cases/{crn}").raise_for_status()


def sync_json(wiring: Wiring) -> dict[str, object]:
    """One sync run against the wiring's nDelius, as `visor-bridge sync --json` reports it."""
    with wiring.ndelius() as src:
        result = wiring.sync_service(src).run()
    assert result is not None
    return result.to_json()


class Cli:
    """Runs `visor-bridge` in-process, on the test's clock, and returns (exit code, stdout, stderr)."""

    def __init__(self, capsys: pytest.CaptureFixture[str], clock: Clock | None = None) -> None:
        self._capsys = capsys
        self.clock = clock

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        from bridge.cli import run

        self._capsys.readouterr()
        code = run(list(argv), clock=self.clock)
        out, err = self._capsys.readouterr()
        return code, out, err

    def json(self, *argv: str) -> Any:
        code, out, err = self(*argv, "--json")
        assert code == 0, err
        return json.loads(out)
