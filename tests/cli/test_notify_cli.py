"""`visor-bridge notify send|due` and `sim notify` (ARCHITECTURE §6, §11), and the scheduler's
notify jobs: present with a key, absent (and said) without one."""

from __future__ import annotations

import pytest

from bridge.clock import FixedClock
from bridge.core.notify_kinds import NotifyKind, demo_template_id
from bridge.scheduler import build_scheduler, notify_due_job, notify_send_job
from bridge.sim.notify import DEMO_API_KEY
from tests.builders import MANAGER, PROXY, Cli, MakeWiring
from tests.notify_kit import LINK_BASE, give_addresses, notify_overrides, sent


def _env(monkeypatch: pytest.MonkeyPatch, notify_url: str) -> None:
    monkeypatch.setenv("BRIDGE_NOTIFY_API_KEY", DEMO_API_KEY)
    monkeypatch.setenv("BRIDGE_NOTIFY_URL", notify_url)
    monkeypatch.setenv("BRIDGE_NOTIFY_SERVICE_URL", LINK_BASE)
    for kind in NotifyKind:
        monkeypatch.setenv(f"BRIDGE_NOTIFY_TEMPLATE_{kind.name}", demo_template_id(kind))


def test_notify_send_delivers_the_outbox_once(
    synced_cli: Cli,
    make_wiring: MakeWiring,
    sqlite_url: str,
    notify_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _env(monkeypatch, notify_url)
    w = make_wiring(sqlite_url, **notify_overrides(notify_url))
    give_addresses(w)
    entry = str(next(e["id"] for e in synced_cli.json("queue", "list") if e["crn"] == "G719053"))
    assert synced_cli("entry", "claim", entry, "--as", PROXY)[0] == 0
    assert synced_cli("entry", "reject", entry, "--as", PROXY, "--reason", "No postcode")[0] == 0
    result = synced_cli.json("notify", "send")
    assert result == {
        "sent": 1, "found": 0, "failed": 0, "skipped": 0, "left": 0, "stopped": None
    }  # fmt: skip
    assert synced_cli.json("notify", "send")["sent"] == 0
    [message] = sent(notify_url)
    assert message["email_address"] == f"{MANAGER.lower()}@justice.example"
    code, _, err = synced_cli("notify", "due")
    assert code == 0
    assert "proxy_digest" in err


def test_without_a_key_notify_send_says_so(synced_cli: Cli) -> None:
    result = synced_cli.json("notify", "send")
    assert result["sent"] == 0
    assert "BRIDGE_NOTIFY_API_KEY" in result["stopped"]


def test_sim_notify_refuses_a_key_not_in_notifys_format(synced_cli: Cli) -> None:
    code, _, err = synced_cli("sim", "notify", "--api-key", "not-a-key", "--port", "1")
    assert code == 2
    assert "--api-key" in err


def test_a_malformed_key_is_a_configuration_error(
    synced_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIDGE_NOTIFY_API_KEY", "live-key-without-uuids")
    code, _, err = synced_cli("notify", "send")
    assert code == 2
    assert "not a GOV.UK Notify API key" in err


def test_the_scheduler_runs_the_notify_jobs_only_with_a_key(
    make_wiring: MakeWiring, sqlite_url: str, notify_url: str, clock: FixedClock
) -> None:
    plain = make_wiring(sqlite_url)
    assert not {"notify-send", "notify-due"} & {j.id for j in build_scheduler(plain).get_jobs()}
    w = make_wiring(sqlite_url, **notify_overrides(notify_url))
    assert {"notify-send", "notify-due"} <= {j.id for j in build_scheduler(w).get_jobs()}
    notify_due_job(w)  # nothing synced yet: nothing due, nothing sent
    notify_send_job(w)
    assert sent(notify_url) == []


def test_the_status_table_says_overdue(synced_cli: Cli) -> None:
    assert isinstance(synced_cli.clock, FixedClock)
    _, out, _ = synced_cli("status", "G719053", "--as", MANAGER)
    assert "(overdue)" not in out
    synced_cli.clock.advance(10 * 86_400)
    _, out, _ = synced_cli("status", "G719053", "--as", MANAGER)
    assert "Waiting (overdue)" in out
