"""Settings: environment variables, safe defaults, and refusal of development secrets in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bridge.cli import run
from bridge.config import Settings, default_mappings_dir
from bridge.errors import ConfigError


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("BRIDGE_ENTRY_DUE_WORKING_DAYS", "5")
    settings = Settings()
    assert settings.database_url == "sqlite:///x.db"
    assert settings.entry_due_working_days == 5
    assert settings.mappings_dir == default_mappings_dir()


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ConfigError, match="BRIDGE_SECRET_KEY"):
        Settings(environment="production").check_deployable()
    Settings(
        environment="production",
        secret_key=SecretStr("a-real-key-from-the-vault"),
        ndelius_client_secret=SecretStr("real-client-secret"),
        audit_key=SecretStr("an-audit-key-of-at-least-32-bytes-long"),
    ).check_deployable()


def test_development_allows_defaults() -> None:
    Settings().check_deployable()


def test_cli_exits_2_with_one_line_on_a_bad_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("BRIDGE_ENTRY_DUE_WORKING_DAYS", "soon")
    monkeypatch.setenv("BRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'b.db'}")
    assert run(["queue", "list", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "BRIDGE_ENTRY_DUE_WORKING_DAYS" in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_cli_refuses_production_with_default_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BRIDGE_ENVIRONMENT", "production")
    assert run(["queue", "list"]) == 2
    assert "Refusing to start in production" in capsys.readouterr().err
