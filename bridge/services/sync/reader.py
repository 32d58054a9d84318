"""Case reads in a process of their own, so the sync's writer never waits for a GIL.

A full sync reads and maps a hundred thousand cases (HTTP, JSON, scope, mapping, hashing) and
writes them to the store. In one process those share one interpreter lock: every time the
writer's SQLite call let go of it, the reader threads held it for milliseconds, and the
writer, the critical path, ran at a third of the speed a plain fetch loop reads. Here the
reading and mapping run in a child process (`python -m bridge.services.sync.reader`) with
its own thread pool; the parent keeps everything that touches the store, in page order, so
the crash-safety rule (a page's writes and the cursor past it in one transaction) is unchanged.

The protocol is pickles over the child's stdin and stdout, in order: the parent sends the
reader's settings, then the staff who need a proxy, then pages of CRNs; the child answers
each page, in the order asked, with one `(crn, prepared case or None, error or None)` per
CRN. Closing stdin asks it for its statistics and ends it.

A killed parent leaves nothing running: the child asks the kernel to kill it when its parent
dies (Linux `PR_SET_PDEATHSIG`), and anywhere else stops at the end of its input or at the
first answer it cannot write. It ignores SIGINT and SIGTERM (a Ctrl-C or a service stop
reaches the whole process group): the parent decides when reading ends, and kills it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import queue
import resource
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from bridge.clock import SystemClock
from bridge.errors import SourceUnavailable
from bridge.mapping_files import MappingBundle, load_mapping
from bridge.ndelius import NdeliusClient
from bridge.services.sync.prepare import CaseRead, read_case

__all__ = [
    "ProcessReads",
    "ReadProcess",
    "ReaderSpec",
    "Reads",
    "ThreadReads",
    "WorkerFailed",
    "WorkerStats",
]

_PR_SET_PDEATHSIG = 1
_PROTOCOL = pickle.HIGHEST_PROTOCOL
_STATS_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class ReaderSpec:
    """How to build the reading side in another process (the client's settings, the mapping).

    The client there runs on the system clock: a reading process is only used when the sync
    itself does (an injected clock cannot be shared with another process).
    """

    ndelius_url: str
    client_id: str
    client_secret: str
    timeout: float
    attempts: int
    backoff_base: float
    max_wait: float
    concurrency: int
    mappings_dir: Path
    mapping_version: str  # the parent's; the child refuses to map with another

    def __repr__(self) -> str:  # the secret never reaches a log or a traceback
        return f"ReaderSpec(ndelius_url={self.ndelius_url!r}, concurrency={self.concurrency})"

    def client(self) -> NdeliusClient:
        return NdeliusClient(
            self.ndelius_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            clock=SystemClock(),
            timeout=self.timeout,
            attempts=self.attempts,
            backoff_base=self.backoff_base,
            max_wait=self.max_wait,
            max_connections=self.concurrency + 2,
        )


@dataclass(frozen=True)
class WorkerStats:
    """What the reading process did (for benchmarks): requests, CPU seconds, peak RSS."""

    requests: int = 0
    token_requests: int = 0
    cases: int = 0
    cpu_seconds: float = 0.0
    maxrss_kb: int = 0


# -- the parent's side -----------------------------------------------------------------------


class WorkerFailed(SourceUnavailable):
    """The reading process ended or answered out of turn; the run fails, the next retries."""


class ReadProcess:
    """The reading process, from the sync's side: `submit` pages, `receive` them in order."""

    def __init__(self, spec: ReaderSpec, *, needs_proxy: Collection[str]) -> None:
        self._proc = subprocess.Popen(  # noqa: S603 (our interpreter, our module, a pid)
            [sys.executable, "-m", "bridge.services.sync.reader", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._to: IO[bytes] = self._proc.stdin
        self._from: IO[bytes] = self._proc.stdout
        self._outstanding = 0
        self.stats: WorkerStats | None = None
        self._send(spec)
        self._send(sorted(needs_proxy))

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _send(self, message: object) -> None:
        try:
            pickle.dump(message, self._to, protocol=_PROTOCOL)
            self._to.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerFailed(f"the reading process ended ({self._exit_note()})") from exc

    def _exit_note(self) -> str:
        code = self._proc.poll()
        return "still running" if code is None else f"exit {code}"

    def submit(self, crns: list[str]) -> None:
        """Ask for a page of reads; answered in the order asked."""
        self._send(crns)
        self._outstanding += 1

    def receive(self) -> list[CaseRead]:
        """The next page asked for, read and prepared."""
        assert self._outstanding > 0, "nothing was asked for"
        try:
            kind, body = _load(self._from)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            raise WorkerFailed(f"the reading process ended ({self._exit_note()})") from exc
        self._outstanding -= 1
        if kind == "raised":  # a defect, not a source failure: surface it as thread reads did
            raise body
        if kind != "page":
            raise WorkerFailed(f"the reading process answered {kind!r}")
        reads: list[CaseRead] = body
        return reads

    def close(self) -> None:
        """End the process: its statistics when every page was collected, then gone."""
        try:
            if self._outstanding == 0 and self._proc.poll() is None:
                self._to.close()  # end of input: it answers with its statistics and exits
                # Idle, it answers at once; never wait long for numbers only a benchmark reads.
                ready, _, _ = select.select([self._from], [], [], _STATS_WAIT_SECONDS)
                with contextlib.suppress(Exception):
                    kind, body = _load(self._from) if ready else ("", None)
                    if kind == "stats":
                        self.stats = body
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=5)
        finally:
            if self._proc.poll() is None:
                self._proc.kill()  # pages still in flight (a stop, an error): not needed
            self._proc.wait()
            for stream in (self._to, self._from):
                with contextlib.suppress(OSError):
                    stream.close()


# -- where the sync's reads run: threads here, or the reading process ------------------------


class Reads(Protocol):
    """Where a page's cases are read and prepared; pages are collected in the order started."""

    def start(self, crns: list[str], needs_proxy: frozenset[str]) -> Callable[[], list[CaseRead]]:
        """Begin reading these CRNs; the returned call waits for their outcomes, in order."""
        ...

    def close(self) -> WorkerStats | None: ...


class ThreadReads:
    """Reader threads in this process (used with an injected clock, as in tests)."""

    def __init__(self, source: NdeliusClient, bundle: MappingBundle, concurrency: int) -> None:
        self._source, self._bundle = source, bundle
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, concurrency), thread_name_prefix="sync-read"
        )

    def start(self, crns: list[str], needs_proxy: frozenset[str]) -> Callable[[], list[CaseRead]]:
        futures = [
            self._pool.submit(
                read_case, self._source, crn, needs_proxy=needs_proxy, bundle=self._bundle
            )
            for crn in crns
        ]
        return lambda: [f.result() for f in futures]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class ProcessReads:
    """The reading process (`ReadProcess`), started with the first page."""

    def __init__(self, spec: ReaderSpec) -> None:
        self._spec = spec
        self._process: ReadProcess | None = None

    def start(self, crns: list[str], needs_proxy: frozenset[str]) -> Callable[[], list[CaseRead]]:
        if self._process is None:
            self._process = ReadProcess(self._spec, needs_proxy=needs_proxy)
        process = self._process
        process.submit(crns)
        return process.receive

    def close(self) -> WorkerStats | None:
        if self._process is None:
            return None
        self._process.close()
        return self._process.stats


# -- the child's side ------------------------------------------------------------------------


def _die_with(parent: int) -> None:
    """Be killed by the kernel when the parent dies (Linux); else rely on EOF and EPIPE."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before we asked
        os._exit(0)


def _serve(inp: IO[bytes], out: IO[bytes]) -> None:
    from bridge.logs import configure_logging

    configure_logging(verbose=False)
    spec: ReaderSpec = _load(inp)
    needs_proxy = frozenset(_load(inp))
    bundle = load_mapping(spec.mappings_dir)
    if bundle.version != spec.mapping_version:
        _write(out, ("raised", WorkerFailed("the mapping changed on disk during the sync")))
        return
    source = spec.client()
    # What lives as long as the process (modules, the mapping, its schema) leaves the
    # collector's generations: each full collection then walks only the cases in flight.
    gc.freeze()
    pages: queue.SimpleQueue[list[Future[CaseRead]] | None] = queue.SimpleQueue()
    cases = 0

    def read(crn: str) -> CaseRead:
        return read_case(source, crn, needs_proxy=needs_proxy, bundle=bundle)

    def answer() -> None:
        """Send pages back in the order asked, each as soon as all of its reads are done."""
        while (futures := pages.get()) is not None:
            try:
                message: tuple[str, Any] = ("page", [f.result() for f in futures])
            except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
                message = ("raised", _portable(exc))
            _write(out, message)

    with ThreadPoolExecutor(max_workers=max(1, spec.concurrency)) as pool:
        sender = threading.Thread(target=answer, name="sync-answer", daemon=True)
        sender.start()
        while True:
            try:
                crns: list[str] = _load(inp)
            except EOFError:
                break
            cases += len(crns)
            pages.put([pool.submit(read, crn) for crn in crns])
        pages.put(None)
        sender.join()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _write(
        out,
        (
            "stats",
            WorkerStats(
                requests=source.requests,
                token_requests=source.token_requests,
                cases=cases,
                cpu_seconds=usage.ru_utime + usage.ru_stime,
                maxrss_kb=usage.ru_maxrss,
            ),
        ),
    )
    source.close()


def _portable(exc: Exception) -> Exception:
    """The exception if it survives pickling, else a plain one naming its type only."""
    try:
        pickle.loads(pickle.dumps(exc, protocol=_PROTOCOL))  # noqa: S301 (our own object)
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__} in the reading process")
    return exc


def _load(stream: IO[bytes]) -> Any:
    """One message from the other end of the pipe.

    Pickle is safe here: both ends are this module, parent and child of one another, and
    nothing else can write into an anonymous pipe between them.
    """
    return pickle.load(stream)  # noqa: S301


def _write(out: IO[bytes], message: object) -> None:
    try:
        pickle.dump(message, out, protocol=_PROTOCOL)
        out.flush()
    except (BrokenPipeError, OSError):
        os._exit(0)  # the parent is gone: nobody wants these reads


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with(int(argv[0]))
    # The answers get the real stdout to themselves: anything printed goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _serve(sys.stdin.buffer, out)
    out.close()


if __name__ == "__main__":
    # Run from the module's own name, so what it pickles names `bridge.services.sync.reader`
    # (the parent cannot load classes of a `__main__` that is not its own).
    from bridge.services.sync.reader import main as _main

    _main(sys.argv[1:])
