"""Metrics for Prometheus: the store's figures read at scrape time, this process's counters,
and the thresholds the administrators' alerts compare with.

Served on a separate address (`BRIDGE_METRICS_ADDRESS`, e.g. 127.0.0.1:9464), never on the
public web port; `visor-bridge metrics` prints one scrape. Every series is a count, a time or a
setting: no CRN, name, id or content is ever a label (docs/operations.md lists them all).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from bridge.clock import Clock
from bridge.config import Settings
from bridge.core.lifecycle import State, local_date
from bridge.counters import VERIFIED
from bridge.store.gauges import StoreFigures, read_figures

__all__ = ["StoreCollector", "exposition", "parse_address", "start_exporter"]


def _ts(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


def _gauge(name: str, doc: str, value: float | None) -> Iterator[Metric]:
    if value is not None:
        family = GaugeMetricFamily(name, doc)
        family.add_metric([], value)
        yield family


class StoreCollector(Collector):
    """Reads the store's figures when Prometheus scrapes (a few aggregate queries)."""

    def __init__(self, *, engine: Engine, clock: Clock, settings: Settings) -> None:
        self._engine = engine
        self._clock = clock
        self._settings = settings

    def figures(self) -> StoreFigures:
        now = self._clock.now()
        return read_figures(
            self._engine,
            now=now,
            today=local_date(now),
            vetting_days=self._settings.notify_vetting_days,
        )

    def collect(self) -> Iterator[Metric]:
        try:
            figures = self.figures()
        except Exception:  # noqa: BLE001 - a scrape reports the store down, never raises
            yield from _gauge("bridge_store_up", "1 if the store answered this scrape.", 0)
            yield from self._thresholds()
            return
        yield from _gauge("bridge_store_up", "1 if the store answered this scrape.", 1)
        yield from self._entries(figures)
        yield from self._sync(figures)
        yield from self._lists(figures)
        yield from self._thresholds()
        yield from self._verified()

    def _entries(self, f: StoreFigures) -> Iterator[Metric]:
        by_state = GaugeMetricFamily("bridge_entries", "Entries by state.", labels=["state"])
        for state, n in sorted(f.entries.items()):
            by_state.add_metric([state], n)
        yield by_state
        by_age = GaugeMetricFamily(
            "bridge_open_entries",
            "Open entries (waiting, claimed, approved, could not send) by state and age band.",
            labels=["state", "age"],
        )
        for (state, band), n in sorted(f.open_by_age.items()):
            by_age.add_metric([state, band], n)
        yield by_age
        yield from _gauge("bridge_entries_overdue", "Open entries past their due date.", f.overdue)
        yield from _gauge(
            "bridge_claims_held",
            "Entries claimed by a proxy.",
            f.entries.get(State.CLAIMED.value, 0),
        )
        oldest = f.oldest_open_queued_at
        age = None if oldest is None else (self._clock.now() - oldest).total_seconds()
        yield from _gauge(
            "bridge_queue_oldest_waiting_age_seconds",
            "Age of the oldest entry waiting for or held by a proxy.",
            age if age is not None else 0,
        )

    def _sync(self, f: StoreFigures) -> Iterator[Metric]:
        runs = CounterMetricFamily(
            "bridge_sync_runs", "Sync runs recorded in the store, by status.", labels=["status"]
        )
        for status, n in sorted(f.runs.items()):
            runs.add_metric([status], n)
        yield runs
        yield from _gauge(
            "bridge_sync_last_success_timestamp_seconds",
            "When a sync run last succeeded.",
            _ts(f.last_success_at),
        )
        last = f.last_run
        if last is not None:
            yield from _gauge(
                "bridge_sync_last_run_duration_seconds",
                "How long the newest finished sync run took.",
                (last.finished_at - last.started_at).total_seconds(),
            )
            yield from _gauge(
                "bridge_sync_last_run_cases", "Cases the newest finished run read.", last.cases
            )
            yield from _gauge(
                "bridge_sync_last_run_failed_cases",
                "Cases the newest finished run could not read or map.",
                last.failed_cases,
            )

    def _lists(self, f: StoreFigures) -> Iterator[Metric]:
        yield from _gauge("bridge_retry_set_size", "Cases waiting to be read again.", f.retry_set)
        attention = GaugeMetricFamily(
            "bridge_attention_cases", "Cases on the attention list, by reason.", labels=["reason"]
        )
        for reason, n in sorted(f.attention.items()):
            attention.add_metric([reason], n)
        yield attention
        is_open = GaugeMetricFamily(
            "bridge_breaker_open", "1 while a sink's circuit breaker is open.", labels=["sink"]
        )
        failures = GaugeMetricFamily(
            "bridge_breaker_failures",
            "Consecutive deliveries a sink could not take.",
            labels=["sink"],
        )
        for sink, (opened, count) in sorted(f.breakers.items()):
            is_open.add_metric([sink], 1 if opened else 0)
            failures.add_metric([sink], count)
        yield is_open
        yield failures
        outbox = GaugeMetricFamily(
            "bridge_notifications",
            "Notification outbox messages by status (queued, sending, sent, failed, skipped).",
            labels=["status"],
        )
        for status, n in sorted(f.notifications.items()):
            outbox.add_metric([status], n)
        yield outbox
        yield from _gauge(
            "bridge_vetting_expiring_proxies",
            "Active vetted proxies whose vetting ends within the alert window.",
            f.vetting_expiring,
        )

    def _thresholds(self) -> Iterator[Metric]:
        """The values the administrators' alerts use, so static rules compare with them."""
        s = self._settings
        yield from _gauge(
            "bridge_threshold_sync_stale_seconds",
            "A sync that has not succeeded for this long is an alert.",
            s.notify_sync_stale_hours * 3600,
        )
        yield from _gauge(
            "bridge_threshold_vetting_expiry_days",
            "Vetting that ends within this many days is an alert.",
            s.notify_vetting_days,
        )
        yield from _gauge(
            "bridge_threshold_attention_cases",
            "An attention list longer than this is an alert.",
            s.alert_attention_cases,
        )
        yield from _gauge(
            "bridge_config_entry_due_working_days",
            "Working days an entry has before it is overdue.",
            s.entry_due_working_days,
        )
        yield from _gauge(
            "bridge_config_sync_interval_seconds",
            "Seconds between scheduled syncs.",
            s.sync_interval_seconds,
        )

    @staticmethod
    def _verified() -> Iterator[Metric]:
        if VERIFIED.ok is None:
            return
        yield from _gauge(
            "bridge_audit_verify_ok", "1 if the last audit chain check passed.", int(VERIFIED.ok)
        )
        yield from _gauge(
            "bridge_audit_verify_last_run_timestamp_seconds",
            "When this process last checked the audit chain.",
            VERIFIED.at,
        )
        yield from _gauge(
            "bridge_audit_verify_events", "Events the last check walked.", VERIFIED.events
        )


class _ProcessMetrics(Collector):
    """This process's own series (the counters of bridge.counters, CPU, memory): the
    default registry's, forwarded."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def _registry(collector: StoreCollector) -> CollectorRegistry:
    """A registry of the store's figures and this process's own series."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessMetrics())
    registry.register(collector)
    return registry


def exposition(collector: StoreCollector) -> bytes:
    """One scrape in the Prometheus text format (`visor-bridge metrics`, the tests)."""
    return generate_latest(_registry(collector))


def parse_address(address: str) -> tuple[str, int]:
    """`host:port` (IPv6 in brackets) → (host, port); ValueError names what is wrong."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"BRIDGE_METRICS_ADDRESS must be host:port, not {address!r}")
    return host.strip("[]"), int(port)


def start_exporter(collector: StoreCollector, address: str) -> tuple[str, int]:
    """Serve /metrics on `address` from a daemon thread; returns the bound (host, port)."""
    host, port = parse_address(address)
    server, _thread = start_http_server(port, addr=host, registry=_registry(collector))
    bound = server.server_address
    return str(bound[0]), int(bound[1])
