"""Alembic driven from code: the migrations ship inside the package, found wherever it is installed."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from bridge.errors import ConfigError
from bridge.store.db import refresh_statistics

__all__ = [
    "PRE_RELEASE_REVISIONS",
    "UnknownSchema",
    "alembic_config",
    "head_revision",
    "stamped_revisions",
    "upgrade",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: The pre-release migrations, squashed into 0001_baseline before the first release: a
#: database stamped with one of them cannot be upgraded.
PRE_RELEASE_REVISIONS = frozenset({"0001", "0002", "0003", "0004", "0005", "0006", "0007"})


class UnknownSchema(ConfigError):
    """The database's schema revision is not one this version of visor-bridge can upgrade."""


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _stamped(connection: Connection) -> list[str]:
    if not inspect(connection).has_table("alembic_version"):
        return []
    return [
        str(v)
        for v in connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    ]


def _check_revisions(cfg: Config, stamped: list[str]) -> None:
    """Refuse, in one line that says what to do, a database no migration here leads from."""
    known = {script.revision for script in ScriptDirectory.from_config(cfg).walk_revisions()}
    for revision in stamped:
        if revision in known:
            continue
        if revision in PRE_RELEASE_REVISIONS:
            raise UnknownSchema(
                f"This database was made by a pre-release visor-bridge (schema revision "
                f"{revision}), whose migrations were replaced by one baseline before the first "
                "release, so it cannot be upgraded. Keep what you need from it (the queue is "
                "rebuilt by the next sync), then point BRIDGE_DATABASE_URL at an empty "
                "database and run `visor-bridge db upgrade`."
            )
        raise UnknownSchema(
            f"This database has schema revision {revision}, which this version of "
            "visor-bridge does not know (made by a newer release?). Run the release that "
            "made it, or point BRIDGE_DATABASE_URL at another database."
        )


@cache
def head_revision() -> str:
    """The newest schema revision this release's migrations lead to."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def stamped_revisions(engine: Engine) -> list[str]:
    """The revisions the database is stamped with (none: not a visor-bridge database)."""
    with engine.connect() as connection:
        return _stamped(connection)


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (idempotent).

    Raises UnknownSchema (a ConfigError: one line on the command line, never a traceback)
    for a database stamped with a revision these migrations do not contain.
    """
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        _check_revisions(cfg, _stamped(connection))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    refresh_statistics(engine)
