"""Settings from BRIDGE_* environment variables (and an optional .env), built by entrypoints only."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bridge.core.audit_chain import DEV_AUDIT_KEY, MIN_KEY_BYTES, Keyring
from bridge.core.notify_kinds import NotifyKind
from bridge.errors import ConfigError

__all__ = [
    "DEV_SECRET_KEY",
    "MIN_SECRET_KEY_BYTES",
    "Settings",
    "audit_key_problems",
    "audit_keyring",
    "default_fixtures_dir",
    "default_mappings_dir",
    "secret_key_problems",
]

#: A key that marks a development set-up; a deployment refuses to start with it.
DEV_SECRET_KEY = "dev-only-change-me"  # noqa: S105  (a marker, refused in production)
#: The shortest BRIDGE_SECRET_KEY outside development (it signs sessions and CSRF tokens).
MIN_SECRET_KEY_BYTES = 32


def secret_key_problems(secret_key: SecretStr) -> list[str]:
    """Why BRIDGE_SECRET_KEY may not be used outside development (empty: it may)."""
    value = secret_key.get_secret_value()
    if value == DEV_SECRET_KEY:
        return ["BRIDGE_SECRET_KEY is the development marker"]
    if len(value.encode("utf-8")) < MIN_SECRET_KEY_BYTES:
        return [f"BRIDGE_SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes"]
    return []


def default_fixtures_dir() -> Path | None:
    """The repository's `fixtures/` (golden examples, seed cases), or None in an installed wheel."""
    candidate = Path(__file__).resolve().parent.parent / "fixtures"
    return candidate if (candidate / "ndelius" / "cases").is_dir() else None


def default_mappings_dir() -> Path:
    """The packaged `visor-v1` mapping, wherever the package is installed."""
    here = Path(__file__).resolve().parent
    # A source checkout (or editable install) first, then the copy inside a wheel.
    for candidate in (here.parent / "mappings" / "visor-v1", here / "_mappings" / "visor-v1"):
        if candidate.is_dir():
            return candidate
    raise ConfigError(
        "Cannot find the packaged mapping 'visor-v1'; set BRIDGE_MAPPINGS to its folder."
    )


class Settings(BaseSettings):
    """Everything an operator may set. See docs/configuration.md for each value."""

    model_config = SettingsConfigDict(env_prefix="BRIDGE_", env_file=".env", extra="ignore")

    #: Production unless set (ARCHITECTURE §7): only `development` skips the start-up checks.
    environment: Literal["production", "development"] = "production"
    database_url: str = "sqlite:///./bridge.db"
    ndelius_url: str = "http://127.0.0.1:8081"
    ndelius_client_id: str = "bridge-dev"
    ndelius_client_secret: SecretStr = SecretStr("bridge-dev-secret")
    sink: Literal["manual", "visor-http", "file-drop"] = "manual"
    visor_url: str = "http://127.0.0.1:8082"
    mappings: Path | None = None
    sync_interval_seconds: int = Field(default=30, ge=1)
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    entry_due_working_days: int = Field(default=3, ge=0)
    retry_base_seconds: float = Field(default=60.0, ge=0)
    breaker_cooldown_seconds: float = Field(default=60.0, ge=0)
    http_max_wait_seconds: float = Field(default=30.0, ge=0)
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    http_attempts: int = Field(default=5, ge=1)
    sync_page_size: int = Field(default=500, ge=1, le=5000)
    adopt_existing: Literal["adopt", "queue"] = "adopt"
    sync_concurrency: int = Field(default=8, ge=1, le=64)
    retry_alert_attempts: int = Field(default=5, ge=1)
    # Submission (bridge submit and the scheduled submit job).
    breaker_threshold: int = Field(default=5, ge=1)
    submit_interval_seconds: int = Field(default=60, ge=1)
    drop_dir: Path | None = None
    claim_minutes: int = Field(default=30, ge=1)
    view_purpose_required: bool = False
    session_idle_minutes: int = Field(default=30, ge=1)
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_lockout_minutes: int = Field(default=15, ge=1)
    # Audit and retention (issue 17; docs/data-protection.md).
    audit_key: SecretStr | None = None
    audit_key_file: Path | None = None
    audit_anchor_file: Path | None = None
    database_owner_url: str | None = None
    retention_content_days: int = Field(default=90, ge=1)
    retention_metadata_years: int = Field(default=6, ge=1)
    retention_interval_seconds: int = Field(default=86_400, ge=60)
    # Metrics and alerts (issue 19): where /metrics is served (host:port; unset = not served),
    # how often the scheduler checks the audit chain, and the attention threshold (the sync and
    # vetting thresholds are the administrators' notifications', BRIDGE_NOTIFY_*).
    metrics_address: str | None = None
    audit_verify_interval_seconds: int = Field(default=21_600, ge=60)
    alert_attention_cases: int = Field(default=0, ge=0)
    # Single sign-on with OpenID Connect (issue 19; docs/web.md): unset issuer = not offered.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_staff_claim: str = Field(default="preferred_username", min_length=1)
    #: Local password sign-in: unset = on in development, off in production.
    local_passwords: bool | None = None

    @property
    def oidc_enabled(self) -> bool:
        """Single sign-on is offered (BRIDGE_OIDC_ISSUER is set)."""
        return bool(self.oidc_issuer and self.oidc_issuer.strip())

    @property
    def passwords_enabled(self) -> bool:
        """Local password sign-in is offered (BRIDGE_LOCAL_PASSWORDS, by default development)."""
        if self.local_passwords is None:
            return self.environment == "development"
        return self.local_passwords

    def oidc_problems(self) -> list[str]:
        """What is missing or unsafe in the single sign-on settings (empty: none, or fine)."""
        if not self.oidc_enabled:
            return []
        problems = []
        if not self.oidc_client_id:
            problems.append("BRIDGE_OIDC_CLIENT_ID is needed with BRIDGE_OIDC_ISSUER")
        if self.oidc_client_secret is None or not self.oidc_client_secret.get_secret_value():
            problems.append("BRIDGE_OIDC_CLIENT_SECRET is needed with BRIDGE_OIDC_ISSUER")
        issuer = (self.oidc_issuer or "").strip()
        if self.environment != "development" and not issuer.startswith("https://"):
            problems.append("BRIDGE_OIDC_ISSUER must be an https:// URL")
        return problems

    # GOV.UK Notify (issue 16; docs/operations.md "Notifications"). No key: nothing is sent.
    notify_api_key: SecretStr | None = None
    notify_url: str = "https://api.notifications.service.gov.uk"
    notify_template_entry_returned: str = ""
    notify_template_case_entered: str = ""
    notify_template_entry_overdue: str = ""
    notify_template_tasks_due_tomorrow: str = ""
    notify_template_proxy_digest: str = ""
    notify_template_vetting_expiring: str = ""
    notify_template_sync_stale: str = ""
    notify_template_breaker_open: str = ""
    notify_template_attention: str = ""
    #: Where the links in messages point (the web UI as people reach it).
    notify_service_url: str = "http://127.0.0.1:8000"
    #: Proxies' messages go to this mailbox instead of each proxy (empty: each proxy).
    notify_team_mailbox: str = ""
    notify_send_interval_seconds: int = Field(default=60, ge=1)
    notify_due_interval_seconds: int = Field(default=900, ge=60)
    #: The administrators' thresholds (the metrics export them for alert rules).
    notify_vetting_days: int = Field(default=30, ge=1)
    notify_sync_stale_hours: int = Field(default=6, ge=1)
    #: Local hour (Europe/London) from which the day's time-based messages go out.
    notify_daily_hour: int = Field(default=7, ge=0, le=23)
    notify_max_wait_seconds: float = Field(default=60.0, ge=0)

    def notify_templates(self) -> dict[str, str]:
        """The configured template id of each kind (a kind with none is not sent)."""
        return {
            kind.value: value.strip()
            for kind in NotifyKind
            if (value := str(getattr(self, f"notify_template_{kind.value}", ""))) and value.strip()
        }

    @property
    def owner_database_url(self) -> str:
        """The database owner's URL (migrations, `audit archive`): the application's by default."""
        return self.database_owner_url or self.database_url

    @property
    def mappings_dir(self) -> Path:
        return self.mappings or default_mappings_dir()

    def deployment_problems(self) -> list[str]:
        """Every setting that may not be used outside development, each named (ARCHITECTURE §7)."""
        if self.environment == "development":
            return []
        problems = secret_key_problems(self.secret_key)
        if self.ndelius_client_secret.get_secret_value() == "bridge-dev-secret":
            problems.append("BRIDGE_NDELIUS_CLIENT_SECRET is the development default")
        problems.extend(audit_key_problems(self))
        problems.extend(self.oidc_problems())
        if not self.oidc_enabled and not self.passwords_enabled:
            problems.append(
                "neither single sign-on (BRIDGE_OIDC_ISSUER) nor local passwords "
                "(BRIDGE_LOCAL_PASSWORDS=true) is enabled, so nobody could sign in"
            )
        return problems

    def check_deployable(self) -> None:
        """Refuse to start outside development while any setting is unfit, naming every one."""
        problems = self.deployment_problems()
        if problems:
            raise ConfigError(
                f"Refusing to start in {self.environment} (BRIDGE_ENVIRONMENT): "
                + "; ".join(problems)
                + ". Set real secrets, or BRIDGE_ENVIRONMENT=development on a developer's machine."
            )


def _audit_secrets(settings: Settings) -> list[str]:
    """The configured audit keys, the signing one first (the key file: one per line)."""
    if settings.audit_key is not None:
        return [settings.audit_key.get_secret_value()]
    if settings.audit_key_file is not None:
        try:
            text = settings.audit_key_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"Cannot read BRIDGE_AUDIT_KEY_FILE {settings.audit_key_file}: {exc.strerror}"
            ) from exc
        return [line.strip() for line in text.splitlines() if line.strip()]
    return []


def audit_key_problems(settings: Settings) -> list[str]:
    """What is wrong with the audit key for this environment (production needs a real one)."""
    try:
        secrets = _audit_secrets(settings)
    except ConfigError as exc:
        return [str(exc)]
    if not secrets:
        if settings.environment == "production":
            return ["BRIDGE_AUDIT_KEY (or BRIDGE_AUDIT_KEY_FILE) is not set"]
        return []
    problems = []
    if any(len(s.encode()) < MIN_KEY_BYTES for s in secrets):
        problems.append(f"the audit key is shorter than {MIN_KEY_BYTES} bytes")
    if settings.environment == "production" and secrets[0] == DEV_AUDIT_KEY:
        problems.append("the audit key is the development key")
    return problems


def audit_keyring(settings: Settings) -> Keyring:
    """The keys that sign and verify the audit chain; the development key when none is set
    outside production. Raises ConfigError for a key that is missing, short or unreadable."""
    problems = audit_key_problems(settings)
    if problems:
        raise ConfigError("Audit key: " + "; ".join(problems) + ".")
    secrets = _audit_secrets(settings)
    return Keyring.of(secrets or [DEV_AUDIT_KEY])
