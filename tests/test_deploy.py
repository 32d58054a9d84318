"""The deployment files (issue 19): the alert rules pass promtool (its own unit tests, and fed
a scrape captured from a running bridge), every series a rule names is one the bridge serves,
and the compose file is valid. CI installs promtool (Debian's prometheus) and docker-compose;
elsewhere these skip, and under BRIDGE_TEST_REQUIRE_ALL=1 a skip is a failure."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bridge.scheduler import audit_verify_job
from bridge.services.metrics import start_exporter
from bridge.store.db import session_scope
from bridge.store.models import Attention, SinkBreaker
from tests.builders import FIXTURE_TODAY, MakeWiring
from tests.loopback import local

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
COMPOSE = ROOT / "deploy" / "compose.yaml"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (apt-get install prometheus docker-compose)")
    return found


def run(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def rules() -> list[dict[str, object]]:
    return list(yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"][0]["rules"])


def rule_series() -> set[str]:
    return {
        name for rule in rules() for name in re.findall(r"\bbridge_[a-z_]+\b", str(rule["expr"]))
    }


def test_the_rules_pass_their_own_unit_tests() -> None:
    promtool = tool("promtool")
    run(promtool, "check", "rules", str(RULES))
    assert "SUCCESS" in run(promtool, "test", "rules", "alerts.test.yml", cwd=PROMETHEUS)


def test_every_alert_has_a_runbook_section() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8").lower()
    assert len(rules()) >= 7
    for rule in rules():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        anchor = annotations["runbook"].split("#", 1)[1]
        assert f"\n### {anchor}\n" in operations, f"runbook for {rule['alert']}"


@pytest.fixture
def scrape(make_wiring: MakeWiring, sqlite_url: str) -> str:
    """A scrape of a running bridge's exporter over a socket: a synced store with the visor
    breaker open, two cases on the attention list and the audit chain checked."""
    wiring = make_wiring(sqlite_url, synced=True)
    with session_scope(wiring.engine) as s:
        s.add(
            SinkBreaker(
                name="visor-http", failures=5, opened_at=FIXTURE_TODAY, updated_at=FIXTURE_TODAY
            )
        )
        for crn in ("X000001", "X000002"):
            s.add(Attention(crn=crn, reason="access_unclear", since=FIXTURE_TODAY))
    audit_verify_job(wiring)
    host, port = start_exporter(wiring.metrics, "127.0.0.1:0")
    return local.get(f"http://{host}:{port}/metrics", timeout=10).text


def test_every_series_the_rules_name_is_served(scrape: str) -> None:
    served = {s.name for f in text_string_to_metric_families(scrape) for s in f.samples}
    assert rule_series() - served == set()


def _series(scrape: str) -> list[dict[str, str]]:
    """The scrape's bridge_* samples as promtool input series, constant for two hours."""
    out = []
    for family in text_string_to_metric_families(scrape):
        for s in family.samples:
            if not s.name.startswith("bridge_") or s.name.endswith(("_bucket", "_created")):
                continue
            labels = ",".join(
                f'{k}="{v}"' for k, v in sorted({**s.labels, "instance": "a"}.items())
            )
            out.append({"series": f"{s.name}{{{labels}}}", "values": f"{s.value:g}x120"})
    return out


def test_the_rules_fire_as_expected_on_a_captured_scrape(scrape: str, tmp_path: Path) -> None:
    promtool = tool("promtool")
    values = {s.name: s.value for f in text_string_to_metric_families(scrape) for s in f.samples}
    vetting = values["bridge_vetting_expiring_proxies"]
    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": _series(scrape),
                "alert_rule_test": [
                    {
                        "eval_time": "30m",
                        "alertname": "BridgeBreakerOpen",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "page", "sink": "visor-http"},
                                "exp_annotations": {
                                    "summary": "The visor-http circuit breaker has been open "
                                    "for 10 minutes.",
                                    "runbook": "docs/operations.md#bridgebreakeropen",
                                },
                            }
                        ],
                    },
                    {"eval_time": "30m", "alertname": "BridgeAuditVerifyFailing", "exp_alerts": []},
                    {"eval_time": "30m", "alertname": "BridgeStoreDown", "exp_alerts": []},
                    # Constant for two hours: above the threshold (0) but not growing.
                    {"eval_time": "90m", "alertname": "BridgeAttentionGrowing", "exp_alerts": []},
                    {
                        "eval_time": "90m",
                        "alertname": "BridgeVettingExpiring",
                        "exp_alerts": [{"exp_labels": {"severity": "ticket"}}] if vetting else [],
                    },
                ],
            }
        ],
    }
    if vetting:  # the summary carries the value: match it
        tests["tests"][0]["alert_rule_test"][-1]["exp_alerts"][0]["exp_annotations"] = {
            "summary": f"{vetting:g} proxies' vetting ends within the configured window.",
            "runbook": "docs/operations.md#bridgevettingexpiring",
        }
    file = tmp_path / "captured.test.yml"
    file.write_text(yaml.safe_dump(tests), encoding="utf-8")
    assert "SUCCESS" in run(promtool, "test", "rules", str(file))


def test_the_compose_file_is_valid_and_runs_two_of_each() -> None:
    compose = tool("docker-compose")
    env = {
        "PATH": "/usr/bin:/bin",
        "BRIDGE_APP_DB_PASSWORD": "a",
        "BRIDGE_OWNER_DB_PASSWORD": "b",
        "BRIDGE_SECRET_KEY": "c" * 32,
        "BRIDGE_AUDIT_KEY": "d" * 32,
        "BRIDGE_NDELIUS_CLIENT_SECRET": "e",
    }
    config = yaml.safe_load(run(compose, "-f", str(COMPOSE), "config", env=env))
    services = config["services"]
    assert {"postgres", "migrate", "web-1", "web-2", "scheduler-1", "scheduler-2"} <= set(services)
    for name in ("web-1", "web-2", "scheduler-1", "scheduler-2"):
        assert services[name]["read_only"] is True
        assert services[name]["user"] == "10001:10001"
        assert services[name]["environment"]["BRIDGE_ENVIRONMENT"] == "production"


def test_the_dockerfile_runs_as_a_user_with_one_image_for_every_command() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert text.count("FROM ") == 3  # assets, build, runtime
    assert "USER 10001:10001" in text
    assert 'ENTRYPOINT ["visor-bridge"]' in text
