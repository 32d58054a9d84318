"""`visor-bridge sync` output on a terminal and off it, and `visor-bridge retries` (the retry set)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import Cli, env_for, only_cases
from tests.loopback import local

BRIDGE = Path(sys.executable).parent / "visor-bridge"


@pytest.mark.subprocess
def test_sync_on_a_terminal_shows_live_progress(
    cli: Cli, sqlite_url: str, ndelius_url: str, tmp_path: Path
) -> None:
    only_cases(ndelius_url, {"B203456", "A117839", "C305117"})
    leader, follower = pty.openpty()
    env = {**os.environ, **env_for(sqlite_url, ndelius_url), "BRIDGE_SYNC_PAGE_SIZE": "1"}
    env.update(COLUMNS="160", TERM="xterm")
    proc = subprocess.run(
        [str(BRIDGE), "sync"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=follower,
        timeout=60,
        check=False,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, shown
    # the live line after a page (each page refreshes it)
    assert re.search(r"events 0 · cases [123] · entries \d+ · failures 0", shown), shown
    assert "Sync run 1:" in shown  # and the summary when it is done
    assert proc.stdout == b""


def test_sync_off_a_terminal_prints_one_summary_line(cli: Cli, ndelius_url: str) -> None:
    only_cases(ndelius_url, {"B203456"})
    code, out, err = cli("sync")
    assert code == 0
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("Sync run 1: 0 events, 1 cases read,")


def test_retries_lists_failing_cases_until_they_recover(cli: Cli, ndelius_url: str) -> None:
    only_cases(ndelius_url, {"B203456", "A117839"})
    fault = {"path": "/crn/A117839/", "status": 500}
    local.post(f"{ndelius_url}/__admin/faults", json=fault).raise_for_status()
    assert cli.json("retries") == []
    for attempt in (1, 2):
        assert cli.json("sync", "--full")["cases_failed"] == 1
        [row] = cli.json("retries")
        assert (row["crn"], row["attempts"], row["needs_attention"]) == ("A117839", attempt, False)
        assert row["last_error"].startswith("nDelius unavailable for case A117839")
    code, _out, err = cli("retries")
    assert code == 0
    assert "A117839" in err

    local.delete(f"{ndelius_url}/__admin/faults").raise_for_status()
    assert cli.json("sync")["cases_failed"] == 0
    assert cli.json("retries") == []
