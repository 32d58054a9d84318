"""`visor-bridge submit` and `visor-bridge entry requeue`: output contract, exit codes, a kill mid-request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bridge.core.failure_text import FAILED_PHRASE
from bridge.store.db import make_engine
from bridge.store.models import AuditEvent, Entry
from tests.builders import ADMIN, MANAGER, PROXY, Cli, MakeWiring, env_for, only_cases
from tests.loopback import local
from tests.services.test_submission import approve_all

BRIDGE = Path(sys.executable).parent / "visor-bridge"
CRN = "B219904"
CONTRACT_KEYS = {"sink", "attempted", "accepted", "failed", "skipped"}


def approve_by_cli(cli: Cli, ndelius_url: str) -> list[int]:
    only_cases(ndelius_url, {CRN})
    cli.json("sync")
    ids = []
    for row in cli.json("queue", "list", "--status", "pending"):
        if not any(issue["blocking"] for issue in row["issues"]):
            assert cli("entry", "claim", str(row["id"]), "--as", PROXY)[0] == 0
            assert cli("entry", "approve", str(row["id"]), "--as", PROXY, "--version", "1")[0] == 0
            ids.append(row["id"])
    return ids


def test_manual_sink_does_nothing_and_says_so(cli: Cli, ndelius_url: str) -> None:
    ids = approve_by_cli(cli, ndelius_url)
    code, out, err = cli("submit")
    assert (code, out) == (0, "")
    assert "manual" in err
    assert "mark-entered" in err
    assert f"{len(ids)} approved" in err
    data = cli.json("submit")
    assert set(data) >= CONTRACT_KEYS
    assert (data["sink"], data["attempted"], data["skipped"]) == ("manual", 0, len(ids))
    assert {r["status"] for r in cli.json("queue", "list", "--status", "approved")} == {"approved"}


def test_visor_http_failures_are_listed_and_requeued(
    cli: Cli, ndelius_url: str, visor_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = approve_by_cli(cli, ndelius_url)
    monkeypatch.setenv("BRIDGE_SINK", "visor-http")
    monkeypatch.setenv("BRIDGE_VISOR_URL", visor_url)
    errors = json.dumps({"errors": ["line 3: Element 'Kind': This element is not expected."]})
    local.post(
        f"{visor_url}/__admin/faults",
        json={"path": "^/records$", "status": 422, "count": 2, "body": errors},
    ).raise_for_status()

    data = cli.json("submit")  # exit 0 although two entries failed
    assert set(data) >= CONTRACT_KEYS
    assert (data["sink"], data["attempted"], data["accepted"], data["failed"]) == (
        "visor-http",
        len(ids),
        len(ids) - 2,
        2,
    )
    assert [f["id"] for f in data["failures"]] == ids[:2]
    assert all(f["reason"] == FAILED_PHRASE for f in data["failures"])  # operator output
    shown = cli.json("entry", "show", str(ids[0]), "--as", PROXY)  # a current proxy's view
    assert shown["reason"] == "ViSOR rejected the record (HTTP 422): Kind: not expected"
    failed = cli.json("queue", "list", "--status", "failed")
    assert [r["id"] for r in failed] == ids[:2]

    code, _, err = cli("entry", "requeue", str(ids[0]), "--as", MANAGER)
    assert code == 1
    assert "Not permitted" in err
    assert cli("entry", "requeue", "--as", PROXY)[0] == 2  # an id or --all-failed
    assert cli("entry", "requeue", str(ids[0]), "--all-failed", "--as", PROXY)[0] == 2
    code, _, err = cli("entry", "requeue", str(ids[2]), "--as", PROXY)
    assert code == 1
    assert "only a failed entry" in err
    assert cli.json("entry", "requeue", str(ids[0]), "--as", PROXY)["status"] == "approved"
    assert cli("entry", "requeue", "--all-failed", "--as", MANAGER)[0] == 1
    assert cli.json("entry", "requeue", "--all-failed", "--as", ADMIN) == {
        "requeued": [ids[1]],
        "not_permitted": 0,
    }

    code, out, err = cli("submit")
    assert (code, out) == (0, "")
    assert "visor-http: 2 attempted, 2 accepted" in err
    assert cli.json("queue", "list", "--status", "failed") == []
    records = local.get(f"{visor_url}/records", params={"crn": CRN}).json()["records"]
    assert len(records) == len(ids)


def test_file_drop_needs_a_folder_and_writes_once(
    cli: Cli, ndelius_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = approve_by_cli(cli, ndelius_url)
    monkeypatch.setenv("BRIDGE_SINK", "file-drop")
    code, _, err = cli("submit")
    assert code == 2
    assert "BRIDGE_DROP_DIR" in err
    monkeypatch.setenv("BRIDGE_DROP_DIR", str(tmp_path / "drop"))
    data = cli.json("submit")
    assert (data["sink"], data["submitted"], data["accepted"]) == ("file-drop", len(ids), 0)
    assert cli.json("submit")["attempted"] == 0
    assert len(list((tmp_path / "drop").glob("entry-*.xml"))) == len(ids)
    assert len((tmp_path / "drop" / "manifest.jsonl").read_text().splitlines()) == len(ids)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)  # polling another process, not waiting out a retry


@pytest.mark.subprocess
def test_killing_submit_mid_request_then_rerunning_creates_no_duplicate(
    db_url: str,
    ndelius_url: str,
    visor_url: str,
    make_wiring: MakeWiring,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    w = make_wiring(db_url, ndelius_url)
    ids = approve_all(w, ndelius_url, {CRN})
    env = {
        **os.environ,
        **env_for(db_url, ndelius_url),
        "BRIDGE_SINK": "visor-http",
        "BRIDGE_VISOR_URL": visor_url,
        "BRIDGE_HTTP_TIMEOUT_SECONDS": "60",
    }
    for key, value in env.items():
        if key.startswith("BRIDGE_"):
            monkeypatch.setenv(key, value)

    def rerun() -> dict[str, object]:
        return Cli(capsys).json("submit")  # type: ignore[no-any-return]

    local.post(
        f"{visor_url}/__admin/faults", json={"path": "^/records$", "delayMs": 1500, "count": 1}
    ).raise_for_status()

    def in_flight() -> bool:
        faults = local.get(f"{visor_url}/__admin/faults").json()["faults"]
        return bool(faults[0]["hits"])

    proc = subprocess.Popen(
        [str(BRIDGE), "submit", "--json"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(in_flight, "the first request to reach ViSOR")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    engine = make_engine(db_url)
    try:
        with Session(engine) as s:
            first = s.get(Entry, ids[0])
            assert first is not None
            assert first.status == "submitted"  # marked (and audited) before the request
            # A lost *response* means ViSOR stored the record although the client never heard.
            # The simulator drops a request whose client has gone (it reads the body after the
            # delay), so that landing is stood in for here: the same record, the same key.
            orphan = local.post(
                f"{visor_url}/records",
                content=(first.xml or "").encode(),
                headers={"Idempotency-Key": f"{first.id}-v{first.version}"},
            )
            assert orphan.status_code == 201

        data = rerun()  # in-process: the same code path, a second process's worth of state
        assert (data["attempted"], data["accepted"], data["failed"]) == (len(ids), len(ids), 0)
        records = local.get(f"{visor_url}/records", params={"crn": CRN}).json()["records"]
        assert len(records) == len(ids)  # the re-send was answered with the first reference
        with Session(engine) as s:
            done = s.exec(select(Entry).where(col(Entry.id).in_(ids))).all()
            assert {e.status for e in done} == {"accepted"}
            assert s.get(Entry, ids[0]).visor_reference == orphan.json()["reference"]  # type: ignore[union-attr]
            sends = s.exec(
                select(AuditEvent).where(
                    AuditEvent.action == "entry.submitted", AuditEvent.entry_id == ids[0]
                )
            ).all()
            assert [a.detail["resend"] for a in sends] == [False, True]
            assert {a.detail["key"] for a in sends} == {f"{ids[0]}-v1"}
    finally:
        engine.dispose()
