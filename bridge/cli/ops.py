"""CLI for operators: database, staff registry, sync, simulators, fixtures and mappings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bridge.cli.common import emit_json, info, wiring
from bridge.clock import SystemClock
from bridge.core.audit_events import CLI as CLI_ACTOR
from bridge.services.views import jsonable

__all__ = ["db_app", "fixtures_app", "sim_app", "staff_app"]

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
staff_app = typer.Typer(help="The staff registry.", no_args_is_help=True)
sim_app = typer.Typer(
    help="Run the nDelius-like, ViSOR-like, GOV.UK Notify or OpenID Connect provider simulator.",
    no_args_is_help=True,
)
fixtures_app = typer.Typer(help="Synthetic case documents.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Upgrade the database to the newest schema, as its owner (BRIDGE_DATABASE_OWNER_URL,
    default BRIDGE_DATABASE_URL)."""
    wiring(ctx).migrate()
    info("Database is at the newest schema.")


@db_app.command("grant")
def db_grant(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(help="The application's PostgreSQL role.")],
) -> None:
    """As the owner (BRIDGE_DATABASE_OWNER_URL): grant the application's role what it needs,
    with only INSERT and SELECT on the audit log (PostgreSQL)."""
    wiring(ctx).grant_application(role)
    info(f"Role {role} may read and write the working tables and only append to the audit log.")


@db_app.command("scrub")
def db_scrub(ctx: typer.Context, json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """As the owner: finish erasures left incomplete (the attention list's
    `erasure_incomplete`): rewrite the content tables, truncate the WAL, clear drop files."""
    done = wiring(ctx).retry_erasures(as_owner=True)
    if json_:
        emit_json({"erased": done})
    else:
        info(f"Erasures completed: {len(done)}.")


@staff_app.command("import")
def staff_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Staff file (JSON, see docs).")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Deactivate staff missing from the file.")
    ] = False,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add and update staff from a staff file; re-importing never duplicates."""
    result = wiring(ctx).staff.import_file(file, actor=CLI_ACTOR, replace=replace)
    if json_:
        emit_json(jsonable(result))
    else:
        info(
            f"Staff: {result.added} added, {result.updated} updated, "
            f"{result.deactivated} deactivated ({result.released} claims released)."
        )


@staff_app.command("set-password")
def staff_set_password(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Staff code (their username), e.g. ADM0001.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input (for scripts).",
        ),
    ] = False,
) -> None:
    """Set someone's web sign-in password (at least 12 characters); ends their sessions.

    Asks twice at a hidden prompt, or reads one line from stdin with --password-stdin,
    so the password never appears in the shell history or the process list.
    """
    w = wiring(ctx)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    w.accounts.set_password(code.strip().upper(), password, actor=CLI_ACTOR)
    info(f"Password set for {code.strip().upper()}; any sessions they had are signed out.")


@sim_app.command("ndelius")
def sim_ndelius(
    data: Annotated[Path, typer.Option("--data", help="Folder holding cases/*.json.")],
    port: Annotated[int, typer.Option("--port")] = 8081,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
) -> None:
    """Serve the nDelius-like API over the case documents in DATA."""
    from bridge.config import Settings
    from bridge.sim.ndelius import create_app
    from bridge.sim.server import run_forever

    s = Settings()
    app = create_app(
        cases_dir=data,
        client_id=s.ndelius_client_id,
        client_secret=s.ndelius_client_secret.get_secret_value(),
        clock=SystemClock(),
    )
    run_forever(app, host, port)


@sim_app.command("visor")
def sim_visor(
    port: Annotated[int, typer.Option("--port")] = 8082,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
) -> None:
    """Serve the ViSOR-like API (validates records against the mapping's XSD)."""
    from bridge.config import Settings
    from bridge.sim.server import run_forever
    from bridge.sim.visor import create_app

    app = create_app(schema_path=Settings().mappings_dir / "visor-record.xsd", clock=SystemClock())
    run_forever(app, host, port)


@sim_app.command("notify")
def sim_notify(
    port: Annotated[int, typer.Option("--port")] = 8083,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="The key to accept (default: the demo key, printed)."),
    ] = None,
    rate_limit: Annotated[
        int | None,
        typer.Option("--rate-limit", min=1, help="Notify's rate limit: requests a minute."),
    ] = None,
) -> None:
    """Serve the GOV.UK Notify simulator (ARCHITECTURE §11): a template for every kind."""
    from bridge.errors import BadInput
    from bridge.sim.notify import DEMO_API_KEY, create_app
    from bridge.sim.server import run_forever

    key = api_key or DEMO_API_KEY
    try:
        app = create_app(api_key=key, rate_limit_per_minute=rate_limit)
    except ValueError as exc:
        raise BadInput(f"--api-key: {exc}") from exc
    if api_key is None:
        info(f"Accepting the demo API key: {DEMO_API_KEY}")
    run_forever(app, host, port)


@sim_app.command("oidc")
def sim_oidc(
    port: Annotated[int, typer.Option("--port")] = 8084,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    users: Annotated[
        str, typer.Option("--users", help="Staff codes offered as test users, comma-separated.")
    ] = "N07P004,N07P005,N07A001,ADM0001,N02P006",
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option("--redirect-uri", help="A registered redirect URI (default: any loopback)."),
    ] = None,
) -> None:
    """Serve an OpenID Connect provider for the bridge's single sign-on (test users, no
    passwords; RS256 keys made at start). Client: BRIDGE_OIDC_CLIENT_ID and _SECRET."""
    from bridge.config import Settings
    from bridge.sim.oidc import create_app
    from bridge.sim.server import run_forever

    s = Settings()
    secret = s.oidc_client_secret.get_secret_value() if s.oidc_client_secret else ""
    app = create_app(
        clock=SystemClock(),
        client_id=s.oidc_client_id or "bridge-dev",
        client_secret=secret or "bridge-dev-secret",
        redirect_uris=tuple(redirect_uri or ()),
        users=tuple(u.strip().upper() for u in users.split(",") if u.strip()),
    )
    run_forever(app, host, port)


@fixtures_app.command("generate")
def fixtures_generate(
    cases: Annotated[int, typer.Option("--cases", min=1)],
    seed: Annotated[int, typer.Option("--seed")] = 1,
    out: Annotated[Path, typer.Option("--out")] = Path("generated"),
) -> None:
    """Write deterministic synthetic case documents to OUT/cases/ (same seed, same bytes)."""
    from bridge.sim.generate import generate_cases

    n = generate_cases(cases=cases, seed=seed, out_dir=out)
    info(f"Wrote {n} case documents to {out / 'cases'}.")
