"""The one place that builds the engine, clients, mapping and services from Settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, TypedDict

from argon2 import PasswordHasher
from sqlalchemy.engine import Engine

from bridge.audit import use_keyring
from bridge.clock import Clock, SystemClock
from bridge.config import Settings, audit_keyring
from bridge.core.audit_events import RETENTION
from bridge.errors import ConfigError
from bridge.store.db import make_engine
from bridge.store.outbox import NotifyPolicy, use_notify_policy

if TYPE_CHECKING:  # the services, clients and sinks are imported where they are built:
    # a command loads only what it uses (a `visor-bridge sync` process starts faster)
    from bridge.mapping_files import MappingBundle
    from bridge.ndelius import NdeliusClient, TokenCache
    from bridge.notify_client import NotifyClient
    from bridge.oidc import OidcClient
    from bridge.services.accounts import AccountService
    from bridge.services.admin import AdminService
    from bridge.services.audit_log import AuditLogService
    from bridge.services.editing import EditService
    from bridge.services.held_forms import HeldFormService
    from bridge.services.held_tasks import HeldTaskService
    from bridge.services.metrics import StoreCollector
    from bridge.services.notify import NotifyService
    from bridge.services.notify_due import NotifyDueService
    from bridge.services.operations import OperationsService
    from bridge.services.privilege import PrivilegeService
    from bridge.services.queue_view import QueueService
    from bridge.services.retention import RetentionService
    from bridge.services.review import ReviewService
    from bridge.services.staff import StaffService
    from bridge.services.status import StatusService
    from bridge.services.submission import RequeueService, SubmissionService
    from bridge.services.sync.reader import ReaderSpec
    from bridge.services.sync.retries import RetrySet
    from bridge.services.sync.service import SyncResult, SyncService
    from bridge.services.tasks import TaskService
    from bridge.services.workload import WorkloadService
    from bridge.sinks import Sink

__all__ = ["Wiring"]


class _HttpPolicy(TypedDict):
    timeout: float
    attempts: int
    backoff_base: float
    max_wait: float


class Wiring:
    """Lazily built collaborators; nothing connects or reads files until asked."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        password_hasher: PasswordHasher | None = None,
    ) -> None:
        """`password_hasher`: argon2 with other parameters (tests use cheap ones); default
        argon2-cffi's own."""
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self._password_hasher = password_hasher

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.settings.database_url)
        use_keyring(engine, audit_keyring(self.settings))
        use_notify_policy(engine, self.notify_policy)
        return engine

    @cached_property
    def notify_policy(self) -> NotifyPolicy | None:
        """What may be sent through GOV.UK Notify: None without BRIDGE_NOTIFY_API_KEY."""
        from bridge.notify_client import check_api_key

        s = self.settings
        if s.notify_api_key is None or not s.notify_api_key.get_secret_value().strip():
            return None
        check_api_key(s.notify_api_key.get_secret_value())
        templates = s.notify_templates()
        return NotifyPolicy(
            kinds=frozenset(templates),
            link_base=s.notify_service_url.rstrip("/"),
            mailbox=s.notify_team_mailbox.strip() or None,
            templates=templates,
        )

    def notify_client(self) -> NotifyClient:
        """A Notify client (the caller closes it); ConfigError without a key."""
        from bridge.notify_client import NotifyClient

        s = self.settings
        if s.notify_api_key is None:
            raise ConfigError("BRIDGE_NOTIFY_API_KEY is not set.")
        return NotifyClient(
            s.notify_api_key.get_secret_value(),
            s.notify_url,
            sleep=self.clock.sleep,
            timeout=s.http_timeout_seconds,
            max_wait=s.notify_max_wait_seconds,
        )

    def notify(self, *, after_commit: Callable[[str], None] | None = None) -> NotifyService:
        """The outbox's sender, opt-outs and failures (no key: a sender that sends nothing)."""
        from bridge.services.notify import NotifyService

        policy = self.notify_policy
        return NotifyService(
            engine=self.engine,
            clock=self.clock,
            client=self.notify_client if policy is not None else None,
            templates=dict(policy.templates) if policy is not None else {},
            after_commit=after_commit,
        )

    @cached_property
    def notify_due(self) -> NotifyDueService:
        from bridge.services.notify_due import DueOptions, NotifyDueService

        s = self.settings
        return NotifyDueService(
            engine=self.engine,
            clock=self.clock,
            options=DueOptions(
                vetting_days=s.notify_vetting_days,
                sync_stale_hours=s.notify_sync_stale_hours,
                daily_hour=s.notify_daily_hour,
            ),
        )

    @cached_property
    def owner_engine(self) -> Engine:
        """The database owner's connection (migrations, audit archive): BRIDGE_DATABASE_OWNER_URL."""
        url = self.settings.owner_database_url
        if url == self.settings.database_url:
            return self.engine
        engine = make_engine(url)
        use_keyring(engine, audit_keyring(self.settings))
        return engine

    @cached_property
    def audit_log(self) -> AuditLogService:
        from bridge.services.audit_log import AuditLogService

        s = self.settings
        return AuditLogService(
            engine=self.engine,
            owner_engine=lambda: self.owner_engine,
            keyring=audit_keyring(s),
            clock=self.clock,
            anchor_file=s.audit_anchor_file,
        )

    @cached_property
    def bundle(self) -> MappingBundle:
        from bridge.mapping_files import load_mapping

        return load_mapping(self.settings.mappings_dir)

    def _http_policy(self) -> _HttpPolicy:
        """Timeout and retries of every outbound HTTP client (nDelius, its reader, ViSOR)."""
        s = self.settings
        return {
            "timeout": s.http_timeout_seconds,
            "attempts": s.http_attempts,
            "backoff_base": min(0.5, s.http_max_wait_seconds),
            "max_wait": s.http_max_wait_seconds,
        }

    @cached_property
    def _ndelius_tokens(self) -> TokenCache:
        """One nDelius token for every client this process makes (a client per sync run);
        made on first use, so a command that never reads nDelius does not load its client."""
        from bridge.ndelius import TokenCache

        return TokenCache()

    def ndelius(self) -> NdeliusClient:
        from bridge.ndelius import NdeliusClient

        s = self.settings
        return NdeliusClient(
            s.ndelius_url,
            client_id=s.ndelius_client_id,
            client_secret=s.ndelius_client_secret.get_secret_value(),
            clock=self.clock,
            **self._http_policy(),
            max_connections=s.sync_concurrency + 2,
            tokens=self._ndelius_tokens,
        )

    def sync_service(
        self,
        source: NdeliusClient,
        *,
        progress: Callable[[SyncResult], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> SyncService:
        from bridge.services.sync.service import SyncOptions, SyncService

        s = self.settings
        return SyncService(
            engine=self.engine,
            source=source,
            bundle=self.bundle,
            clock=self.clock,
            options=SyncOptions(
                due_working_days=s.entry_due_working_days,
                page_size=s.sync_page_size,
                retry_base_seconds=s.retry_base_seconds,
                adopt_existing=s.adopt_existing,
                concurrency=s.sync_concurrency,
                retry_alert_attempts=s.retry_alert_attempts,
                drop_dir=s.drop_dir if s.sink == "file-drop" else None,
            ),
            progress=progress,
            stop=stop,
            reader=self._reader_spec(),
        )

    def _reader_spec(self) -> ReaderSpec | None:
        """Cases are read in a process of their own, unless the clock is injected (tests)."""
        from bridge.services.sync.reader import ReaderSpec

        if not isinstance(self.clock, SystemClock):
            return None
        s = self.settings
        return ReaderSpec(
            ndelius_url=s.ndelius_url,
            client_id=s.ndelius_client_id,
            client_secret=s.ndelius_client_secret.get_secret_value(),
            **self._http_policy(),
            concurrency=s.sync_concurrency,
            mappings_dir=s.mappings_dir,
            mapping_version=self.bundle.version,
        )

    @cached_property
    def review(self) -> ReviewService:
        from bridge.services.review import ReviewService

        return ReviewService(
            engine=self.engine,
            clock=self.clock,
            claim_ttl=timedelta(minutes=self.settings.claim_minutes),
            purpose_required=self.settings.view_purpose_required,
            manual_sink=self.settings.sink == "manual",
        )

    @cached_property
    def tasks(self) -> TaskService:
        """Case tasks (ARCHITECTURE §3): the per-entry rules of `review`, a case at a time."""
        from bridge.services.tasks import TaskService

        s = self.settings
        return TaskService(
            engine=self.engine,
            clock=self.clock,
            review=self.review,
            claim_ttl=timedelta(minutes=s.claim_minutes),
            manual_sink=s.sink == "manual",
            search_key=s.secret_key.get_secret_value().encode(),
            purpose_required=s.view_purpose_required,
        )

    @cached_property
    def held_forms(self) -> HeldFormService:
        """Forms sent after a session ended, held for the same person (issue 14)."""
        from bridge.services.held_forms import HeldFormService

        return HeldFormService(engine=self.engine, clock=self.clock)

    @cached_property
    def held_tasks(self) -> HeldTaskService:
        """Administrators' listing of held tasks (release and reassign are `tasks`')."""
        from bridge.services.held_tasks import HeldTaskService

        return HeldTaskService(
            engine=self.engine,
            clock=self.clock,
            claim_ttl=timedelta(minutes=self.settings.claim_minutes),
            manual_sink=self.settings.sink == "manual",
        )

    def sink(self) -> Sink | None:
        """The configured sink (None: manual); the caller closes it."""
        from bridge.sinks.file_drop import FileDropSink
        from bridge.sinks.visor_http import VisorHttpSink

        s = self.settings
        if s.sink == "visor-http":
            return VisorHttpSink(
                s.visor_url,
                clock=self.clock,
                **self._http_policy(),
            )
        if s.sink == "file-drop":
            if s.drop_dir is None:
                raise ConfigError("BRIDGE_SINK=file-drop needs BRIDGE_DROP_DIR (a folder).")
            return FileDropSink(s.drop_dir, clock=self.clock)
        return None

    def submission(self) -> SubmissionService:
        """Submission through the configured sink; use it as a context manager."""
        from bridge.services.submission import SubmissionService
        from bridge.sinks.breaker import CircuitBreaker

        s = self.settings
        breaker = None
        if s.sink == "visor-http":
            breaker = CircuitBreaker(
                self.engine,
                name=s.sink,
                threshold=s.breaker_threshold,
                cooldown_seconds=s.breaker_cooldown_seconds,
                clock=self.clock,
            )
        return SubmissionService(
            engine=self.engine, clock=self.clock, sink=self.sink(), breaker=breaker
        )

    @cached_property
    def retries(self) -> RetrySet:
        from bridge.services.sync.retries import RetrySet

        s = self.settings
        return RetrySet(
            self.engine, alert_attempts=s.retry_alert_attempts, base_seconds=s.retry_base_seconds
        )

    @cached_property
    def requeue(self) -> RequeueService:
        """The one requeue path (the CLI's `entry requeue` and the administrators' page)."""
        from bridge.services.submission import RequeueService

        return RequeueService(engine=self.engine, clock=self.clock)

    @cached_property
    def queue(self) -> QueueService:
        from bridge.services.queue_view import QueueService

        return QueueService(engine=self.engine, clock=self.clock)

    @cached_property
    def status(self) -> StatusService:
        from bridge.services.status import StatusService

        return StatusService(engine=self.engine, clock=self.clock)

    @cached_property
    def workload(self) -> WorkloadService:
        """Workload figures (issue 15): My work, Workload, Backlog, `report workload`."""
        from bridge.services.workload import WorkloadService

        return WorkloadService(
            engine=self.engine, clock=self.clock, manual_sink=self.settings.sink == "manual"
        )

    @cached_property
    def staff(self) -> StaffService:
        from bridge.services.staff import StaffService

        return StaffService(engine=self.engine, clock=self.clock)

    @cached_property
    def metrics(self) -> StoreCollector:
        """The store's figures for Prometheus (read at scrape time)."""
        from bridge.services.metrics import StoreCollector

        return StoreCollector(engine=self.engine, clock=self.clock, settings=self.settings)

    @cached_property
    def operations(self) -> OperationsService:
        from bridge.services.operations import OperationsService

        return OperationsService(engine=self.engine, clock=self.clock)

    def migrate(self) -> None:
        """Upgrade the database to the newest schema (as the owner, BRIDGE_DATABASE_OWNER_URL)."""
        from bridge.services.operations import OperationsService

        OperationsService(engine=self.owner_engine, clock=self.clock).migrate()

    @cached_property
    def retention(self) -> RetentionService:
        from bridge.services.retention import RetentionService

        s = self.settings
        return RetentionService(
            engine=self.engine,
            clock=self.clock,
            content_days=s.retention_content_days,
            metadata_years=s.retention_metadata_years,
        )

    def retry_erasures(self, *, as_owner: bool = False) -> list[str]:
        """Erasures left incomplete (attention `erasure_incomplete`) tried again; `as_owner`:
        through BRIDGE_DATABASE_OWNER_URL (`visor-bridge db scrub`), who may rewrite tables."""
        from bridge.services.sync.erasure import retry_incomplete

        s = self.settings
        return retry_incomplete(
            self.owner_engine if as_owner else self.engine,
            now=self.clock.now(),
            actor=RETENTION,
            wait=self.clock.sleep,
            drop_dir=s.drop_dir if s.sink == "file-drop" else None,
        )

    def grant_application(self, role: str) -> None:
        """Grant the application's role its privileges (as the owner; PostgreSQL)."""
        from bridge.services.operations import OperationsService

        OperationsService(engine=self.owner_engine, clock=self.clock).grant_application(role)

    @cached_property
    def admin(self) -> AdminService:
        from bridge.services.admin import AdminService

        return AdminService(engine=self.engine, clock=self.clock)

    @cached_property
    def privilege(self) -> PrivilegeService:
        """The two-person rule for privilege granted in the web (issue 18)."""
        from bridge.services.privilege import PrivilegeService

        return PrivilegeService(engine=self.engine, clock=self.clock, hasher=self._password_hasher)

    @cached_property
    def accounts(self) -> AccountService:
        from bridge.services.accounts import AccountService, Throttling

        s = self.settings
        return AccountService(
            engine=self.engine,
            clock=self.clock,
            idle_timeout=timedelta(minutes=s.session_idle_minutes),
            throttling=Throttling(
                max_failures=s.sign_in_max_failures,
                lockout=timedelta(minutes=s.sign_in_lockout_minutes),
            ),
            hasher=self._password_hasher,
            name_key=s.secret_key.get_secret_value().encode("utf-8"),
        )

    @cached_property
    def oidc(self) -> OidcClient | None:
        """The single sign-on provider (None when BRIDGE_OIDC_ISSUER is not set)."""
        from bridge.oidc import OidcClient

        s = self.settings
        if not s.oidc_enabled:
            return None
        problems = s.oidc_problems()
        if problems or s.oidc_client_id is None or s.oidc_client_secret is None:
            raise ConfigError("Single sign-on: " + "; ".join(problems) + ".")
        return OidcClient(
            issuer=(s.oidc_issuer or "").strip(),
            client_id=s.oidc_client_id,
            client_secret=s.oidc_client_secret.get_secret_value(),
            staff_claim=s.oidc_staff_claim,
            clock=self.clock,
            timeout=s.http_timeout_seconds,
        )

    @cached_property
    def editing(self) -> EditService:
        from bridge.services.editing import EditService

        return EditService(self.review, lambda: self.bundle)

    def close(self) -> None:
        if self.__dict__.get("oidc") is not None:
            self.oidc.close()  # type: ignore[union-attr]
        if "owner_engine" in self.__dict__:
            self.owner_engine.dispose()
        if "engine" in self.__dict__:
            self.engine.dispose()
