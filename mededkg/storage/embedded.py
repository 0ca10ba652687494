"""The embedded back-end (the default): write a built dataset to an Oxigraph store on
disk and open it for queries.

The embedded store is a folder of Oxigraph (RocksDB) files. ``store_path`` is a
symbolic link to the current build in a sibling ``.<name>.builds/`` folder; a new build
is written into a fresh folder and the link is replaced atomically (``rename``) only
once the build succeeded, so a failed or interrupted build leaves the previous store
serving.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pyoxigraph as ox

from mededkg import isolation
from mededkg.errors import QueryError, StoreNotFound
from mededkg.guard import declares_dataset
from mededkg.storage.base import (
    NO_OPTIONS,
    Backend,
    QueryOptions,
    QueryOutcome,
    Store,
    StoreError,
)

#: How many earlier builds to keep beside the current one (a server may still use one).
KEEP_PREVIOUS_BUILDS = 1

#: The file in the builds folder that writers (builds, updates) lock with ``flock``.
LOCK_FILE = ".write.lock"


class EmbeddedStore(Store):
    """A read-only view of a built dataset, queried with Oxigraph's SPARQL engine."""

    #: The back-end's name (the ``store_backend`` setting).
    backend = "embedded"

    def __init__(self, inner: ox.Store, *, location: Path | None = None) -> None:
        self._inner = inner
        self.location = location

    @classmethod
    def open(cls, path: Path, *, in_memory: bool = False) -> EmbeddedStore:
        """Open the built store at *path* read-only.

        Args:
            path: the configured store path (the link to the current build).
            in_memory: copy it into an in-memory store (faster joins, more memory).

        Raises:
            StoreNotFound: if nothing has been built there yet.
        """
        if not (path.resolve() / "CURRENT").is_file():
            raise StoreNotFound(path)
        try:
            disk = ox.Store.read_only(str(path.resolve()))
        except OSError as error:
            raise StoreError(f"cannot open the store at {path}: {error}") from error
        if not in_memory:
            return cls(disk, location=path.resolve())
        memory = ox.Store()
        memory.bulk_extend(disk.quads_for_pattern(None, None, None, None))
        return cls(memory, location=path.resolve())

    @classmethod
    def from_quads(cls, quads: Iterable[ox.Quad]) -> EmbeddedStore:
        """An in-memory store holding *quads* (for tests and small graphs)."""
        inner = ox.Store()
        inner.bulk_extend(quads)
        return cls(inner)

    def query(self, sparql: str, options: QueryOptions = NO_OPTIONS) -> QueryOutcome:
        """See :meth:`Store.query`."""
        engine: dict[str, object] = {}
        if options.default_graph:
            engine["default_graph"] = graph_nodes(
                options.default_graph, "default-graph-uri"
            )
        elif not declares_dataset(sparql):
            # The union of the named graphs is the default graph, unless the query
            # names its own dataset with FROM / FROM NAMED.
            engine["use_default_graph_as_union"] = True
        if options.named_graphs:
            engine["named_graphs"] = graph_nodes(
                options.named_graphs, "named-graph-uri"
            )
        if options.base_iri:
            engine["base_iri"] = options.base_iri
        if options.substitutions:
            engine["substitutions"] = {
                ox.Variable(name): term for name, term in options.substitutions.items()
            }
        try:
            return self._inner.query(sparql, **engine)  # type: ignore[arg-type]
        except SyntaxError as error:
            raise QueryError(f"malformed query: {error}") from error
        except ValueError as error:
            raise QueryError(str(error)) from error
        except OSError as error:  # SERVICE that cannot be reached, a failed read
            raise QueryError(engine_failure(error)) from error

    @property
    def inner(self) -> ox.Store:
        """The underlying pyoxigraph store (read-only for a built store)."""
        return self._inner

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        """Every quad, or those of the named graph IRI *graph*."""
        graph_name = ox.NamedNode(graph) if graph else None
        return iter(self._inner.quads_for_pattern(None, None, None, graph_name))

    def named_graphs(self) -> list[str]:
        """The IRIs of the named graphs, sorted."""
        return sorted(
            g.value for g in self._inner.named_graphs() if isinstance(g, ox.NamedNode)
        )

    def __len__(self) -> int:
        return len(self._inner)


def engine_failure(error: OSError) -> str:
    """The message for an engine error raised while evaluating (not parsing)."""
    text = str(error)
    if isolation.network_closed():
        return (
            f"the query could not be evaluated: {text} (query workers have no "
            "network: SERVICE may only call the endpoints of the service_allowlist "
            "setting)"
        )
    return f"the query could not be evaluated: {text}"


def graph_nodes(iris: Sequence[str], parameter: str) -> list[ox.NamedNode]:
    """The graph IRIs of a dataset parameter as Oxigraph terms.

    Raises:
        QueryError: naming the parameter and the value that is not an absolute IRI.

    >>> graph_nodes(["http://e/g"], "named-graph-uri")
    [<NamedNode value=http://e/g>]
    """
    nodes = []
    for iri in iris:
        try:
            nodes.append(ox.NamedNode(iri))
        except ValueError as error:
            raise QueryError(
                f"{parameter} {iri[:200]!r} is not an absolute IRI: {error}"
            ) from error
    return nodes


def write_store(
    quads: Iterable[ox.Quad],
    path: Path,
    *,
    before_swap: Callable[[Store], None] | None = None,
) -> Path:
    """Write *quads* as a new build and make it the current store at *path*.

    Args:
        quads: the whole dataset.
        path: the store link.
        before_swap: called with the new build, opened read-only, before it becomes
            current (to write files that must appear together with it, e.g. dumps).

    Returns:
        The folder of the new build.

    Raises:
        StoreError: if *path* exists but is not a store link, or writing fails (the
            previous store is then untouched).
    """
    if path.exists() and not path.is_symlink():
        raise StoreError(
            f"{path} exists and is not a MedEdKG store link; move it away or choose "
            "another --store-path"
        )
    builds = builds_dir(path)
    try:
        builds.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _cannot_write(builds, error) from error
    with write_lock(path):
        new = builds / (
            f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}"
        )
        try:
            store = ox.Store(str(new))
            store.bulk_extend(quads)
            store.flush()
            store.optimize()
            del store
            if before_swap is not None:
                before_swap(EmbeddedStore.open(new))
            _point_link(path, new)
        except BaseException as error:
            shutil.rmtree(new, ignore_errors=True)
            if isinstance(error, OSError):
                raise _cannot_write(builds, error) from error
            raise
        _prune(builds, keep=new)
    return new


def _cannot_write(folder: Path, error: OSError) -> StoreError:
    reason = error.strerror or str(error)
    return StoreError(
        f"cannot write the store in {folder}: {reason}; the previous store is "
        "unchanged (free some space or choose another --store-path)"
    )


class _LockState:
    """One store's lock in this process: a thread lock and the ``flock``-ed file."""

    def __init__(self) -> None:
        self.thread_lock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None


_LOCKS: dict[Path, _LockState] = {}
_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Hold the exclusive write lock of the store at *path*.

    The lock is process-wide (a re-entrant thread lock) and cross-process
    (``flock`` on a file in the builds folder), so a ``mededkg build`` and the
    server's update endpoints never write the same store at once. A holder killed
    with ``kill -9`` releases it: the kernel drops the ``flock`` with the process.

    Raises:
        StoreError: if the lock file cannot be created.
    """
    builds = builds_dir(path)
    key = builds.absolute()
    with _LOCKS_GUARD:
        state = _LOCKS.setdefault(key, _LockState())
    with state.thread_lock:
        if state.depth == 0:
            try:
                builds.mkdir(parents=True, exist_ok=True)
                fd = os.open(builds / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise StoreError(
                    f"cannot create the write lock in {builds}: {error}"
                ) from error
            fcntl.flock(fd, fcntl.LOCK_EX)
            state.fd = fd
        state.depth += 1
        try:
            yield
        finally:
            state.depth -= 1
            if state.depth == 0 and state.fd is not None:
                fcntl.flock(state.fd, fcntl.LOCK_UN)
                os.close(state.fd)
                state.fd = None


def assume_write_lock(path: Path) -> None:
    """In a child process that works for a parent holding the write lock of the
    store at *path* (an update applied in isolation): count the lock as held here,
    so :func:`write_lock` re-enters it instead of waiting for the parent."""
    key = builds_dir(path).absolute()
    with _LOCKS_GUARD:
        state = _LOCKS.setdefault(key, _LockState())
    with state.thread_lock:
        state.depth += 1


def builds_dir(path: Path) -> Path:
    """The folder holding the builds behind the store link *path*."""
    return path.parent / f".{path.name}.builds"


def _point_link(link: Path, target: Path) -> None:
    tmp = link.parent / f".{link.name}.link-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(os.path.relpath(target, link.parent), tmp)
    os.replace(tmp, link)
    _fsync_dir(link.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in *folder* durable across a power failure, not only a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(builds: Path, *, keep: Path) -> None:
    others = sorted(
        (p for p in builds.iterdir() if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
    )
    for old in others[: max(0, len(others) - KEEP_PREVIOUS_BUILDS)]:
        shutil.rmtree(old, ignore_errors=True)


class EmbeddedBackend(Backend):
    """Oxigraph on disk at *path* (a link to the current build folder).

    Args:
        path: the store link (``store_path``).
        in_memory: open a copy in memory for reading (faster joins, more memory).
    """

    name = "embedded"

    gates_swap = True

    def __init__(self, path: Path, *, in_memory: bool = False) -> None:
        self.path = path
        self.in_memory = in_memory

    def open(self) -> Store:
        """Open the current build read-only (copied into memory if asked)."""
        return EmbeddedStore.open(self.path, in_memory=self.in_memory)

    def write_dataset(
        self,
        quads: Iterable[ox.Quad],
        *,
        before_swap: Callable[[Store], None] | None = None,
    ) -> Path | None:
        """Write a new build folder and swap the link (:func:`write_store`)."""
        return write_store(quads, self.path, before_swap=before_swap)

    @property
    def where(self) -> str:
        """The store path."""
        return str(self.path)
