"""`visor-bridge report workload` (ARCHITECTURE §6) against hand-counted figures."""

from __future__ import annotations

import pytest

from bridge.clock import FixedClock
from tests.builders import ADMIN, PROXY, Cli, MakeWiring
from tests.cli.conftest import cli_env
from tests.services.test_workload import CASE, MANAGER, _work

# C318820 has six entries. N07P004: 6 x 40 min to the claim's expiry, 5 x 15 claim to approval,
# 1 x 20 claim to return, 5 x 20 approval to entry = 435 minutes; one case, five entries, one
# returned, none late. N07P005 re-claimed all six for 10 minutes each = 60.
HAND_COUNTED = (
    "staff,week,tasks,entries,handling_minutes,overdue_at_entry,returned\n"
    "N07P004,2026-11-23,1,5,435,0,1\n"
    "N07P005,2026-11-23,0,0,60,0,0\n"
)
RANGE = ("--from", "2026-11-16", "--to", "2026-11-29")


def test_report_workload_csv_and_json(
    make_wiring: MakeWiring,
    sqlite_url: str,
    ndelius_url: str,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _work(make_wiring(sqlite_url, ndelius_url, synced={CASE}), clock)
    cli_env(sqlite_url, ndelius_url, monkeypatch)
    cli = Cli(capsys, clock)

    code, out, err = cli("report", "workload", *RANGE, "--as", ADMIN, "--csv")
    assert (code, out) == (0, HAND_COUNTED), err
    rows = cli.json("report", "workload", *RANGE, "--as", ADMIN)
    assert rows[0] == {
        "staff": "N07P004",
        "week": "2026-11-23",
        "tasks": 1,
        "entries": 5,
        "handling_minutes": 435,
        "overdue_at_entry": 0,
        "returned": 1,
    }
    # The manager of N07CHT sees only N07P004 (N07P005 is in N07HCT).
    code, out, _ = cli("report", "workload", *RANGE, "--as", MANAGER, "--csv")
    assert (code, out) == (0, "".join(HAND_COUNTED.splitlines(keepends=True)[:2]))

    code, out, err = cli("report", "workload", *RANGE, "--as", PROXY, "--csv")
    assert (code, out) == (1, "")
    assert "Traceback" not in err
    assert cli("report", "workload", *RANGE, "--as", ADMIN)[0] == 2  # neither --csv nor --json
    assert (
        cli("report", "workload", "--from", "soon", "--to", "2026-11-29", "--as", ADMIN, "--csv")[0]
        == 2
    )
