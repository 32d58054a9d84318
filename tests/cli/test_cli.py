"""The `bridge` command's contract (ARCHITECTURE.md §6): commands, --json keys, exit codes, output."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.clock import FixedClock
from bridge.config import default_mappings_dir
from bridge.errors import NotPermitted
from tests.builders import (
    EXPIRED_PROXY,
    IN_SCOPE,
    MANAGER,
    ON_VISOR,
    PROXY,
    Cli,
    env_for,
    expected_entry_count,
)
from tests.cli.conftest import cli_setup, today

SYNC_KEYS = {
    "run_id",
    "events_read",
    "cases_fetched",
    "entries_created",
    "entries_superseded",
    "cases_failed",
    "cursor",
}
QUEUE_KEYS = {
    "id",
    "crn",
    "kind",
    "section",
    "status",
    "on_behalf_of",
    "created_at",
    "due_date",
    "issues",
}
STATUS_ENTRY_KEYS = {
    "id",
    "section",
    "kind",
    "status",
    "created_at",
    "due_date",
    "entered_at",
    "reason",
}
REFUSAL = f"visor-bridge: {NotPermitted.MESSAGE}"


def _identity_ids(cli: Cli) -> dict[str, str]:
    """CRN → the id of its identity entry, as a command-line argument."""
    rows = cli.json("queue", "list")
    return {r["crn"]: str(r["id"]) for r in rows if r["section"] == "identity"}


def test_end_to_end_sync_review_and_status(
    db_url: str,
    ndelius_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    clock: FixedClock,
) -> None:
    cli_setup(db_url, ndelius_url, monkeypatch, tmp_path, clock)
    cli = Cli(capsys, clock)

    first = cli.json("sync")
    assert set(first) >= SYNC_KEYS  # the contract keys; more are allowed
    queued_cases = IN_SCOPE - ON_VISOR
    assert first["entries_created"] == expected_entry_count(queued_cases)
    assert first["cases_failed"] == 0
    assert isinstance(first["cursor"], int)
    second = cli.json("sync")
    assert set(second) >= SYNC_KEYS
    assert second["entries_created"] == 0
    assert second["run_id"] != first["run_id"]

    rows = cli.json("queue", "list")
    assert len(rows) == first["entries_created"]
    assert all(set(r) - {"overdue"} == QUEUE_KEYS for r in rows)  # contract keys, plus overdue
    assert {r["crn"] for r in rows} == queued_cases
    assert all("xml" not in r for r in rows)
    pending = cli.json("queue", "list", "--status", "pending")
    assert len(pending) == len(rows)
    assert cli.json("queue", "list", "--status", "approved") == []

    claimed = cli.json("queue", "claim-next", "--as", PROXY)
    assert set(claimed) == QUEUE_KEYS
    assert claimed["status"] == "claimed"
    assert claimed["crn"] not in {"F600218", "N480937"}  # N07P004 may not take these
    entry = str(claimed["id"])
    assert len(cli.json("queue", "list", "--status", "pending")) == len(rows) - 1

    shown = cli.json("entry", "show", entry, "--as", PROXY)
    assert shown["status"] == "claimed"
    if any(i["blocking"] for i in shown["issues"]):
        pytest.fail(f"the first claimable entry has blocking issues: {shown['issues']}")
    approved = cli.json(
        "entry", "approve", entry, "--as", PROXY, "--version", str(shown["version"])
    )
    assert approved["status"] == "approved"
    entered = cli.json("entry", "mark-entered", entry, "--as", PROXY, "--reference", "VIS-000123")
    assert entered["status"] == "accepted"

    status = cli.json("status", claimed["crn"], "--as", claimed["on_behalf_of"])
    assert set(status) == {"crn", "entries"}
    row = next(e for e in status["entries"] if e["id"] == claimed["id"])
    assert set(row) == STATUS_ENTRY_KEYS
    assert (row["status"], row["entered_at"]) == ("accepted", today().isoformat())


def test_entry_show_json_has_record_diff_version_and_history_with_literal_unicode(
    synced_cli: Cli,
) -> None:
    entry = _identity_ids(synced_cli)["G719053"]
    code, out, err = synced_cli("entry", "show", entry, "--as", PROXY, "--json")
    assert code == 0, err
    assert "Siobhán" in out  # written literally, not as \u00e1
    assert "\\u00e1" not in out
    data = json.loads(out)
    assert {"xml", "diff", "version", "history"} <= set(data)
    assert set(data) >= QUEUE_KEYS
    assert type(data["version"]) is int
    assert "Siobhán" in data["xml"]
    assert "<![CDATA[" not in data["xml"]
    assert any(d["path"] == "Forename" and d["after"] == "Siobhán" for d in data["diff"])
    assert [h["action"] for h in data["history"]][-1] == "entry.viewed"

    # without --json the record goes to stdout and the summary to stderr
    code, out, err = synced_cli("entry", "show", entry, "--as", PROXY)
    assert code == 0
    assert "<Record" in out
    assert "Siobhán" in out
    assert f"Entry {entry}" in err


REFUSALS = [
    ["entry", "show", "{entry}", "--as", EXPIRED_PROXY, "--json"],
    ["entry", "show", "{entry}", "--as", EXPIRED_PROXY],
    ["entry", "show", "{entry}", "--as", MANAGER, "--json"],
    ["entry", "show", "999999", "--as", PROXY, "--json"],
    ["entry", "show", "{excluded}", "--as", PROXY, "--json"],
    ["entry", "claim", "{entry}", "--as", MANAGER, "--json"],
    ["entry", "approve", "{entry}", "--as", "NOBODY1", "--version", "1"],
    ["queue", "claim-next", "--as", EXPIRED_PROXY, "--json"],
]


def test_refusals_exit_1_with_the_same_one_line_and_nothing_on_stdout(
    synced_cli: Cli, subtests: pytest.Subtests
) -> None:
    crns = _identity_ids(synced_cli)
    ids = {"entry": crns["G719053"], "excluded": crns["F600218"]}
    for argv in REFUSALS:
        with subtests.test(argv=" ".join(argv)):
            code, out, err = synced_cli(*(a.format(**ids) for a in argv))
            assert code == 1
            assert out == ""
            assert err.count("\n") == 1
            # the same words whether excluded, unknown, expired or not a proxy at all
            assert err.strip() == REFUSAL
    code, out, err = synced_cli("status", "G719053", "--as", "N07A002", "--json")
    assert (code, out, err.count("\n")) == (1, "", 1)
    code, out, err2 = synced_cli("status", "Z999999", "--as", MANAGER, "--json")
    assert (code, out, err2) == (1, "", err)


def test_wrong_state_and_version_conflict_exit_1(synced_cli: Cli) -> None:
    entry = _identity_ids(synced_cli)["G719053"]
    code, out, err = synced_cli(
        "entry", "approve", entry, "--as", PROXY, "--version", "1", "--json"
    )
    assert (code, out, err.count("\n")) == (1, "", 1)  # not claimed yet
    synced_cli.json("entry", "claim", entry, "--as", PROXY)
    code, out, err = synced_cli(
        "entry", "approve", entry, "--as", PROXY, "--version", "99", "--json"
    )
    assert (code, out, err.count("\n")) == (1, "", 1)
    assert "version" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["entry", "show", "abc", "--as", PROXY, "--json"],
        ["entry", "show", "1", "--as", PROXY, "--bogus"],
        ["entry", "show", "1"],  # --as is required
        ["queue", "list", "--wat"],
        ["entry", "reject", "1", "--as", PROXY],  # a rejection needs a reason
        ["entry", "approve", "1", "--as", PROXY],  # an approval needs the version seen (#18)
        ["entry", "approve", "1", "--as", PROXY, "--version", "0"],
        [
            "entry",
            "mark-entered",
            "1",
            "--as",
            PROXY,
            "--reference",
            "VIS-1",
            "--date",
            "23/11/2026",
        ],
        ["no-such-command"],
    ],
)
def test_bad_usage_exits_2(argv: list[str], cli: Cli) -> None:
    code, out, err = cli(*argv)
    assert code == 2
    assert out == ""
    assert err
    assert "Traceback" not in err


def test_status_json_keys(synced_cli: Cli) -> None:
    status = synced_cli.json("status", "g719053", "--as", MANAGER)  # CRNs are case-insensitive
    assert set(status) == {"crn", "entries"}
    assert status["crn"] == "G719053"
    assert len(status["entries"]) == expected_entry_count({"G719053"})
    assert all(set(e) == STATUS_ENTRY_KEYS for e in status["entries"])
    assert "Siobhán" not in json.dumps(status, ensure_ascii=False)


def test_claim_next_with_nothing_to_claim_prints_null(cli: Cli) -> None:
    code, out, err = cli("queue", "claim-next", "--as", PROXY, "--json")
    assert (code, out.strip()) == (0, "null")
    assert json.loads(out) is None
    code, out, err = cli("queue", "claim-next", "--as", PROXY)
    assert (code, out) == (0, "")
    assert "Nothing to claim" in err


def test_mappings_check_passes_and_names_the_broken_file(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("mappings", "check")
    assert code == 0, err
    assert "OK" in err

    broken = tmp_path / "visor-broken"
    shutil.copytree(default_mappings_dir(), broken)
    (broken / "scope.toml").write_text("[scope\ncategories = [1, 2", encoding="utf-8")
    code, out, err = cli("mappings", "check", str(broken))
    assert code == 2
    assert out == ""
    assert str(broken) in err
    assert "scope.toml" in err
    assert "Traceback" not in err

    (broken / "scope.toml").write_text(
        "[scope]\ncategories = [1, 9]\nlevels = [1]\n", encoding="utf-8"
    )
    code, _, err = cli("mappings", "check", str(broken))
    assert code == 2
    assert "categories" in err


def test_db_upgrade_is_repeatable(cli: Cli) -> None:
    for _ in range(2):
        code, out, err = cli("db", "upgrade")
        assert code == 0, err
        assert out == ""


CONTRACT_COMMANDS = (
    "demo", "sim", "db", "staff", "sync", "scheduler", "serve", "queue", "entry", "status",
    "mappings", "fixtures",
)  # fmt: skip


@pytest.mark.subprocess
def test_installed_command_exits_1_without_a_traceback_and_lists_its_commands(
    sqlite_url: str, ndelius_url: str, tmp_path: Path
) -> None:
    """The console script itself, as an operator runs it (from an unrelated directory)."""
    bridge = Path(sys.executable).parent / "visor-bridge"
    env = {**os.environ, **env_for(sqlite_url, ndelius_url)}

    def run_bridge(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bridge), *argv],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    refused = run_bridge("entry", "show", "1", "--as", "NOBODY")
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert refused.stderr.strip() == REFUSAL
    assert refused.stdout == ""

    helped = run_bridge("--help")
    assert helped.returncode == 0, helped.stderr
    # the first word of each line of the Commands panel (plain or boxed by rich)
    listed = {m.group(1) for m in re.finditer(r"^[│|]?\s+([a-z-]+)\s{2,}\S", helped.stdout, re.M)}
    assert set(CONTRACT_COMMANDS) <= listed, helped.stdout
