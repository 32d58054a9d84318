"""The life cycle's words are spelled once, in bridge/core/lifecycle.py.

An AST scan of bridge/: no comparison of a `.status`, `.kind` or `.section` with a bare string,
and no string literal that is an entry state or a kind, outside the allowlist (the life cycle
itself, the frozen migrations, the audit catalogue's action names and the simulators, which
speak the external APIs' own words).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bridge.core.lifecycle import Kind, State

ROOT = Path(__file__).resolve().parents[2] / "bridge"
ALLOWED = ("core/lifecycle.py", "store/migrations/", "core/audit_events.py", "sim/")
#: Words that are entry states or kinds and nothing else. `failed` (also a run's status) and
#: `activity` (also a section) are checked only where they are compared with an attribute.
WORDS = ({s.value for s in State} | {k.value for k in Kind}) - {"failed", "activity"}
ATTRIBUTES = {"status", "kind", "section", "state"}


def _sources() -> list[Path]:
    return [
        p
        for p in sorted(ROOT.rglob("*.py"))
        if not any(str(p.relative_to(ROOT)).startswith(a) for a in ALLOWED)
    ]


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                ids.add(id(value))
    return ids


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [s for e in node.elts for s in _strings(e)]
    return []


def _attribute(node: ast.AST) -> str | None:
    return node.attr if isinstance(node, ast.Attribute) and node.attr in ATTRIBUTES else None


def bare_words(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    docs = _docstrings(tree)
    found = []
    where = path.relative_to(root)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_attribute(s) for s in sides):
                found += [
                    f"{where}:{node.lineno}: .{next(a for s in sides if (a := _attribute(s)))} "
                    f"compared with {word!r}"
                    for s in sides
                    for word in _strings(s)
                ]
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in WORDS
            and id(node) not in docs
        ):
            found.append(f"{where}:{node.lineno}: bare {node.value!r}")
    return found


def test_no_bare_state_or_kind_strings() -> None:
    found = [f for p in _sources() for f in bare_words(p)]
    assert not found, "use bridge.core.lifecycle:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ('if entry.status == "pending": pass', True),
        ('if entry.kind in ("nominal-create", "x"): pass', True),
        ('if row.status != "failed": pass', True),
        ('x = {"superseded": 1}', True),
        ('"""superseded"""', False),  # a docstring
        ("if entry.status == State.PENDING: pass", False),
        ('y = "failed"', False),
    ],
)
def test_the_scan_catches_what_it_should(tmp_path: Path, source: str, caught: bool) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source + "\n")
    found = bare_words(probe, tmp_path)
    assert bool(found) is caught, found


def utc_days(path: Path, root: Path = ROOT) -> list[str]:
    """`….now().date()` or `now.date()`: a UTC day where the rules mean the London day."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and not node.args
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "date"
        ):
            target = node.func.value
            if (isinstance(target, ast.Name) and target.id == "now") or (
                isinstance(target, ast.Call)
                and isinstance(target.func, ast.Attribute)
                and target.func.attr == "now"
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_today_is_the_london_day_everywhere() -> None:
    """Overdue, vetting, "needs a proxy" and entered dates are days in England and Wales:
    `lifecycle.local_date(now)`, never the UTC date of a UTC clock."""
    found = [f for p in _sources() for f in utc_days(p)]
    assert not found, "use bridge.core.lifecycle.local_date:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("d = clock.now().date()", True),
        ("d = now.date()", True),
        ("d = local_date(now)", False),
        ("d = row.created_at.date()", False),
    ],
)
def test_the_day_scan_catches_what_it_should(tmp_path: Path, source: str, caught: bool) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(source + "\n")
    assert bool(utc_days(probe, tmp_path)) is caught
