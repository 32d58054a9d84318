"""`visor-bridge audit verify|export|archive` (ARCHITECTURE §6, §10) and the audit key settings."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bridge.config import Settings
from bridge.core.audit_chain import DEV_AUDIT_KEY, key_id
from bridge.errors import ConfigError
from tests.builders import ADMIN, PROXY, Cli, only_cases


def _db(monkeypatch: pytest.MonkeyPatch) -> Path:
    import os

    return Path(os.environ["BRIDGE_DATABASE_URL"].removeprefix("sqlite:///"))


def test_verify_answers_0_then_1_once_a_row_is_changed_without_the_key(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.json("audit", "verify") == {"ok": True, "events": 1, "first_bad": None}
    path = _db(monkeypatch)
    with sqlite3.connect(path) as conn:  # someone with the file: triggers dropped, row changed
        conn.execute("DROP TRIGGER auditevent_no_update")
        first = conn.execute("SELECT min(id) FROM auditevent").fetchone()[0]
        conn.execute("UPDATE auditevent SET actor = 'N07P999' WHERE id = ?", (first,))
    code, out, err = cli("audit", "verify", "--json")
    assert code == 1
    assert json.loads(out) == {"ok": False, "events": 1, "first_bad": first}
    code, _out, err = cli("audit", "verify")
    assert code == 1
    assert f"broken at event {first}" in err


def test_verify_answers_2_when_the_key_is_missing_or_wrong(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGE_AUDIT_KEY", "another-audit-key-that-is-long-enough-2")
    code, out, err = cli("audit", "verify", "--json")
    assert (code, out) == (2, "")
    assert "BRIDGE_AUDIT_KEY" in err.strip().splitlines()[-1]
    assert "Traceback" not in err
    # rotation through the key file: the new key first, the development key below it
    keys = tmp_path / "audit.keys"
    keys.write_text("another-audit-key-that-is-long-enough-2\n" + DEV_AUDIT_KEY + "\n")
    monkeypatch.delenv("BRIDGE_AUDIT_KEY")
    monkeypatch.setenv("BRIDGE_AUDIT_KEY_FILE", str(keys))
    assert cli.json("audit", "verify")["ok"] is True
    monkeypatch.setenv("BRIDGE_AUDIT_KEY", "short")
    monkeypatch.delenv("BRIDGE_AUDIT_KEY_FILE")
    code, _out, err = cli("audit", "verify")
    assert code == 2
    assert "shorter than 32 bytes" in err


def test_production_refuses_to_start_without_an_audit_key() -> None:
    real = {
        "environment": "production",
        "secret_key": "a-real-secret-key-from-the-vault-0001",
        "ndelius_client_secret": "real-client-secret",
        "local_passwords": True,
    }
    with pytest.raises(ConfigError, match="BRIDGE_AUDIT_KEY"):
        Settings(**real).check_deployable()  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="development key"):
        Settings(**real, audit_key=DEV_AUDIT_KEY).check_deployable()  # type: ignore[arg-type]
    Settings(**real, audit_key="x" * 32).check_deployable()  # type: ignore[arg-type]
    assert key_id(b"x" * 32) != key_id(DEV_AUDIT_KEY.encode())


def _synced(cli: Cli, ndelius_url: str) -> list[dict[str, object]]:
    only_cases(ndelius_url, {"A117839"})
    assert cli("sync")[0] == 0
    rows: list[dict[str, object]] = cli.json("queue", "list")
    return rows


def test_export_gives_one_persons_events_to_an_administrator_and_is_audited(
    cli: Cli, ndelius_url: str
) -> None:
    entry = _synced(cli, ndelius_url)[0]
    crn = str(entry["crn"])
    code, _out, err = cli("entry", "show", str(entry["id"]), "--as", PROXY, "--purpose", "bogus")
    assert code == 2
    assert "--purpose must be one of" in err
    assert cli("entry", "show", str(entry["id"]), "--as", PROXY, "--json")[0] == 0
    events = cli.json("audit", "export", "--crn", crn, "--as", ADMIN)
    assert events
    assert {e["crn"] for e in events} == {crn}
    assert set(events[0]) == {
        "id",
        "at",
        "actor",
        "action",
        "category",
        "crn",
        "entry_id",
        "purpose",
        "detail",
    }
    [viewed] = [e for e in events if e["action"] == "entry.viewed"]
    assert viewed["purpose"] == "cli:entry.show"  # a missing --purpose names the command
    again = cli.json("audit", "export", "--crn", crn, "--as", ADMIN)
    assert again[-1]["action"] == "audit.exported"
    assert again[-1]["detail"] == {"events": len(events), "purpose": "cli:audit.export"}
    code, _out, err = cli("audit", "export", "--crn", crn, "--as", PROXY, "--json")
    assert code == 1
    assert "Not permitted" in err.strip().splitlines()[-1]


def test_export_works_on_a_broken_chain(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, ndelius_url: str
) -> None:
    crn = str(_synced(cli, ndelius_url)[0]["crn"])
    with sqlite3.connect(_db(monkeypatch)) as conn:
        conn.execute("DROP TRIGGER auditevent_no_update")
        conn.execute("UPDATE auditevent SET actor = 'N07P999' WHERE crn = ?", (crn,))
    assert cli("audit", "verify")[0] == 1
    assert cli.json("audit", "export", "--crn", crn, "--as", ADMIN)


def test_archive_as_the_owner_then_the_chain_goes_on(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    before = cli.json("audit", "verify")["events"]
    out = tmp_path / "archive.jsonl"
    code, stdout, err = cli(
        "audit", "archive", "--before", "2099-01-01", "--out", str(out), "--json"
    )
    assert code == 0, err
    result = json.loads(stdout)
    assert result["archived"] == before
    assert len(out.read_text().splitlines()) == before
    assert cli.json("audit", "verify") == {"ok": True, "events": 1, "first_bad": None}
    code, _out, err = cli("audit", "archive", "--before", "2099-01-01", "--out", str(out))
    assert code == 2
    assert "never overwritten" in err
    assert cli("audit", "archive", "--before", "someday")[0] == 2
