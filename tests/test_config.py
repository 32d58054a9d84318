"""Settings: environment variables, safe defaults, and refusal of development secrets in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bridge.cli import run
from bridge.config import DEV_SECRET_KEY, MIN_SECRET_KEY_BYTES, Settings, default_mappings_dir
from bridge.errors import ConfigError


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("BRIDGE_ENTRY_DUE_WORKING_DAYS", "5")
    settings = Settings()
    assert settings.database_url == "sqlite:///x.db"
    assert settings.entry_due_working_days == 5
    assert settings.mappings_dir == default_mappings_dir()


GOOD_KEY = SecretStr("k" * MIN_SECRET_KEY_BYTES)


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ConfigError, match="BRIDGE_SECRET_KEY"):
        Settings(environment="production").check_deployable()
    Settings(
        environment="production",
        secret_key=GOOD_KEY,
        ndelius_client_secret=SecretStr("real-client-secret"),
        audit_key=SecretStr("an-audit-key-of-at-least-32-bytes-long"),
        local_passwords=True,
    ).check_deployable()


PRODUCTION_READY: dict[str, object] = {
    "environment": "production",
    "secret_key": GOOD_KEY,
    "ndelius_client_secret": SecretStr("real-client-secret"),
    "audit_key": SecretStr("an-audit-key-of-at-least-32-bytes-long"),
}


def test_production_needs_a_way_to_sign_in() -> None:
    """Local passwords are off in production unless enabled: without single sign-on either,
    nobody could sign in, so it is refused."""
    problems = Settings(**PRODUCTION_READY).deployment_problems()  # type: ignore[arg-type]
    assert problems == [
        "neither single sign-on (BRIDGE_OIDC_ISSUER) nor local passwords "
        "(BRIDGE_LOCAL_PASSWORDS=true) is enabled, so nobody could sign in"
    ]
    sso = Settings(
        **PRODUCTION_READY,  # type: ignore[arg-type]
        oidc_issuer="https://login.example/tenant/v2.0",
        oidc_client_id="bridge",
        oidc_client_secret=SecretStr("s"),
    )
    assert sso.deployment_problems() == []
    assert not sso.passwords_enabled
    assert Settings(environment="development").passwords_enabled


def test_single_sign_on_settings_are_checked_together() -> None:
    half = Settings(**PRODUCTION_READY, oidc_issuer="http://idp.example")  # type: ignore[arg-type]
    assert half.deployment_problems() == [
        "BRIDGE_OIDC_CLIENT_ID is needed with BRIDGE_OIDC_ISSUER",
        "BRIDGE_OIDC_CLIENT_SECRET is needed with BRIDGE_OIDC_ISSUER",
        "BRIDGE_OIDC_ISSUER must be an https:// URL",
    ]
    assert Settings(oidc_issuer="").oidc_enabled is False  # an empty variable is unset


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("", "shorter than 32 bytes"),
        ("x", "shorter than 32 bytes"),
        ("k" * 31, "shorter than 32 bytes"),
        (DEV_SECRET_KEY, "development marker"),
    ],
)
def test_a_short_or_marker_secret_key_is_refused_outside_development(key: str, why: str) -> None:
    """Before: an empty or one-character key was accepted in production."""
    settings = Settings(environment="production", secret_key=SecretStr(key))
    problems = settings.deployment_problems()
    assert any(why in p and "BRIDGE_SECRET_KEY" in p for p in problems)
    # every failing setting is named, not only the first
    assert any("BRIDGE_NDELIUS_CLIENT_SECRET" in p for p in problems)
    assert (
        Settings(environment="development", secret_key=SecretStr(key)).deployment_problems() == []
    )


def test_production_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: an unset BRIDGE_ENVIRONMENT meant development and accepted the development key."""
    monkeypatch.delenv("BRIDGE_ENVIRONMENT")
    assert Settings().environment == "production"
    with pytest.raises(ConfigError, match="BRIDGE_SECRET_KEY is the development marker"):
        Settings().check_deployable()


def test_development_allows_defaults() -> None:
    Settings(environment="development").check_deployable()


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
    monkeypatch.setenv("BRIDGE_SECRET_KEY", "short")
    assert run(["queue", "list"]) == 2
    err = capsys.readouterr().err
    assert "Refusing to start in production" in err
    assert "BRIDGE_SECRET_KEY is shorter than 32 bytes" in err
    assert "BRIDGE_NDELIUS_CLIENT_SECRET" in err
