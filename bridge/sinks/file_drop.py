"""The file-drop sink: one XML file per entry version in BRIDGE_DROP_DIR, plus a manifest.

A file appears whole or not at all (temporary file, fsync, `os.replace`, fsync of the folder)
and is named by entry id and version (`entry-12-v1.xml`), so a re-run finds it and writes no
second one. `manifest.jsonl` gets one JSON line per file: entry id, version, CRN, section,
kind, file name, SHA-256 of the file and when it was written. A run that died between the
file and its manifest line adds the line on the next run; a line torn by a crash is skipped
when the manifest is read and never joined to the next one. Files are readable by the
owner only: they hold record content.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import structlog

from bridge.clock import Clock
from bridge.errors import SubmitRejected, SubmitUnavailable
from bridge.sinks import Delivery, idempotency_key
from bridge.store.models import Entry

__all__ = ["MANIFEST", "FileDropSink", "drop_name", "erase_person"]

log = structlog.get_logger(__name__)

MANIFEST = "manifest.jsonl"


def _read_no_follow(path: Path) -> str:
    """A file's text, refusing (OSError, ELOOP) when `path` is a symbolic link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read().decode("utf-8")


def drop_name(entry: Entry) -> str:
    return f"entry-{idempotency_key(entry)}.xml"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(target: Path, data: bytes) -> None:
    """`target` holds `data` completely, or does not exist (never a partial file)."""
    for stale in target.parent.glob(f".{target.name}.*.tmp"):  # left by a killed run
        stale.unlink(missing_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


class FileDropSink:
    """Writes records into a folder another process (or person) takes them from."""

    name = "file-drop"
    acknowledges = False

    def __init__(self, folder: Path, *, clock: Clock) -> None:
        self.folder = folder
        self._clock = clock
        self._listed: set[tuple[int, int]] | None = None

    def close(self) -> None:
        self._listed = None

    def _manifest_keys(self) -> set[tuple[int, int]]:
        """(entry id, version) of every readable manifest line, read once per run."""
        if self._listed is None:
            self._listed = set()
            path = self.folder / MANIFEST
            if path.exists() or path.is_symlink():
                for line in _read_no_follow(path).splitlines():
                    try:
                        row = json.loads(line)
                        self._listed.add((int(row["entry_id"]), int(row["version"])))
                    except (ValueError, KeyError, TypeError):
                        continue  # a line torn by a crash: its entry is written again below
        return self._listed

    def _append_manifest(self, line: dict[str, object]) -> None:
        path = self.folder / MANIFEST
        data = (json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        # Never through a link: a symlink planted as manifest.jsonl would send the lines (CRNs,
        # file names) wherever it points; O_NOFOLLOW makes the open fail instead.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # end a torn last line so this one stays readable
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def deliver(self, entry: Entry) -> Delivery:
        """Write the entry's record (once per entry version) and its manifest line."""
        assert entry.xml is not None
        assert entry.id is not None
        data = entry.xml.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        name = drop_name(entry)
        target = self.folder / name
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if target.exists():
                if hashlib.sha256(target.read_bytes()).hexdigest() != digest:
                    raise SubmitRejected(
                        f"{name} already exists in the drop folder with other content; "
                        "move it aside, then requeue the entry.",
                        entry_id=entry.id,
                    )
                log.info("submit.drop_exists", entry_id=entry.id, file=name)
            else:
                _write_atomically(target, data)
            if (entry.id, entry.version) not in self._manifest_keys():
                self._append_manifest(
                    {
                        "entry_id": entry.id,
                        "version": entry.version,
                        "crn": entry.crn,
                        "section": entry.section,
                        "kind": entry.kind,
                        "file": name,
                        "sha256": digest,
                        "written_at": self._clock.now().isoformat(),
                    }
                )
                self._manifest_keys().add((entry.id, entry.version))
        except OSError as exc:
            raise SubmitUnavailable(
                f"Cannot write entry {entry.id} into the drop folder "
                f"({type(exc).__name__}: {exc.strerror}); check BRIDGE_DROP_DIR.",
                entry_id=entry.id,
            ) from exc
        return Delivery(detail={"file": name, "sha256": digest})


def erase_person(folder: Path, crn: str) -> list[str]:
    """Remove the files of `crn` still in the drop folder and its lines from the manifest
    (rewritten atomically, owner-only); return the files that could NOT be removed (a
    non-empty list leaves the erasure incomplete: the caller lists the case)."""
    path = folder / MANIFEST
    if not path.exists():
        return []
    kept: list[str] = []
    left: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            mine = row.get("crn") == crn
        except (ValueError, AttributeError):
            mine = crn in line  # a torn line naming the person goes with them
            row = {}
        if not mine:
            kept.append(line)
            continue
        name = str(row.get("file") or "")
        if name and "/" not in name and name not in (".", ".."):
            try:
                (folder / name).unlink(missing_ok=True)
            except OSError:
                left.append(name)
                kept.append(line)  # listed for removal with its manifest line
    data = "".join(f"{line}\n" for line in kept).encode("utf-8")
    _write_atomically(path, data)
    return left
