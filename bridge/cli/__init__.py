"""The `bridge` command: thin commands over the services (contract: ARCHITECTURE.md §6)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Annotated

import click
import structlog
import typer

from bridge.cli.audit import audit_app
from bridge.cli.case import case_app
from bridge.cli.common import info, wiring
from bridge.cli.mappings import mappings_app
from bridge.cli.notify import notify_app
from bridge.cli.ops import db_app, fixtures_app, sim_app, staff_app
from bridge.cli.report import report_app
from bridge.cli.review import admin_app, entry_app, queue_app, status
from bridge.cli.submit import requeue, submit
from bridge.cli.sync import retries, sync
from bridge.clock import Clock
from bridge.errors import (
    BadInput,
    BridgeError,
    ConfigError,
    DomainRefusal,
    MappingSpecError,
)
from bridge.logs import configure_logging
from bridge.web.serving import KEEP_ALIVE_SECONDS

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="visor-bridge",
    help="visor-bridge: MAPPA case data from nDelius to ViSOR-format records for vetted proxies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_app, name="db")
app.add_typer(staff_app, name="staff")
app.add_typer(queue_app, name="queue")
app.add_typer(entry_app, name="entry")
app.add_typer(case_app, name="case")
app.add_typer(sim_app, name="sim")
app.add_typer(fixtures_app, name="fixtures")
app.add_typer(mappings_app, name="mappings")
app.add_typer(admin_app, name="admin")
app.add_typer(audit_app, name="audit")
app.add_typer(report_app, name="report")
app.add_typer(notify_app, name="notify")
app.command("sync")(sync)
app.command("retries")(retries)
app.command("status")(status)
app.command("submit")(submit)
entry_app.command("requeue")(requeue)


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")
    ] = False,
) -> None:
    configure_logging(verbose=verbose)


@app.command("serve")
def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port")] = 8000,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            "--forwarded-allow-ips",
            help="Comma-separated addresses of the reverse proxy whose X-Forwarded-For and "
            "X-Forwarded-Proto are trusted (default: none; proxy headers are ignored).",
        ),
    ] = "",
    keep_alive: Annotated[
        int,
        typer.Option(
            "--keep-alive",
            min=1,
            help="Seconds an idle connection stays open (default 75: longer than the load "
            "balancer's idle timeout in front of the bridge should be).",
        ),
    ] = KEEP_ALIVE_SECONDS,
) -> None:
    """Serve the web UI and JSON API."""
    import uvicorn

    from bridge.scheduler import serve_metrics
    from bridge.web.app import create_app
    from bridge.web.serving import serve_options

    built = wiring(ctx)
    serve_metrics(built)
    uvicorn.run(
        create_app(built),
        host=host,
        port=port,
        log_level="warning",
        **serve_options(forwarded_allow_ips, keep_alive),
    )


@app.command("scheduler")
def scheduler(ctx: typer.Context) -> None:
    """Run scheduled syncs (and submissions, for an automatic sink) until stopped (Ctrl-C or SIGTERM)."""
    from bridge.scheduler import run_until_stopped

    run_until_stopped(wiring(ctx))


@app.command("metrics")
def metrics(ctx: typer.Context) -> None:
    """Print one Prometheus scrape of the store's figures and thresholds (what
    BRIDGE_METRICS_ADDRESS serves, without this process's own counters mattering)."""
    from bridge.services.metrics import exposition

    sys.stdout.write(exposition(wiring(ctx).metrics).decode())


@app.command("demo")
def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Where the demo database lives.")] = Path(
        "demo"
    ),
    port: Annotated[int, typer.Option("--port", help="Web port (0 = any free port).")] = 8000,
    interval: Annotated[int, typer.Option("--interval", help="Seconds between syncs.")] = 30,
) -> None:
    """Simulators + seeded store + scheduler + web UI on 127.0.0.1."""
    from bridge.demo import run_demo

    run_demo(folder=folder, web_port=port, interval=interval)


# Recent Typer vendors Click as `typer._click`: its parse errors are not `click`'s classes.
# Both are caught, through public names only (BadParameter's base is UsageError).
_USAGE_ERRORS: tuple[type[click.exceptions.UsageError], ...] = (
    click.exceptions.UsageError,
    *(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"),
)
_ABORTS: tuple[type[BaseException], ...] = (click.exceptions.Abort, typer.Abort)


def run(argv: list[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run the CLI and return its exit code: 0 ok, 1 domain refusal, 2 bad usage or input.

    Expected errors become one line on stderr, never a traceback. `clock` replaces the wall
    clock (tests run commands in-process on a fixed day).
    """
    try:
        code = app(args=argv, standalone_mode=False, obj=clock)
    except _USAGE_ERRORS as exc:
        exc.show()
        return 2
    except _ABORTS:
        info("Aborted.")
        return 130
    except DomainRefusal as exc:
        info(f"visor-bridge: {exc}")
        return 1
    except (BadInput, ConfigError, MappingSpecError) as exc:
        info(f"visor-bridge: {exc}")
        return 2
    except BridgeError as exc:
        info(f"visor-bridge: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI boundary: log with an event id, no traceback
        event_id = uuid.uuid4().hex[:12]
        structlog.get_logger("bridge.cli").error(
            "cli.unexpected_error", event_id=event_id, error_type=type(exc).__name__
        )
        info(f"visor-bridge: unexpected error ({type(exc).__name__}); event id {event_id}.")
        return 1
    return code if isinstance(code, int) else 0


def main() -> None:
    """Console entry point."""
    sys.exit(run())
