"""The storage wing: where a built dataset lives and how it is read.

- :mod:`.base` — the interfaces: :class:`Store` (read: SPARQL with the same options
  everywhere, quads, named graphs, size) and :class:`Backend` (write a whole dataset
  all-or-nothing, open it for reading);
- :mod:`.embedded` — Oxigraph on disk (the default), its build folders, store link and
  write lock; ``serve`` can copy it into memory (``serve_in_memory``);
- :mod:`.memory` — an rdflib dataset in this process (tests, tiny graphs);
- :mod:`.remote` — a SPARQL 1.1 Protocol + Graph Store server (its HTTP client, reads,
  loads and the query-text edits a remote engine needs).

:func:`backend_for` is the registry: the ``store_backend`` setting names a back-end.
Who may import this wing: the pipeline (build, write, dumps, export), the query gate and
the web app; it imports nothing of theirs (tests/test_architecture.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mededkg.errors import ConfigError
from mededkg.settings import Config
from mededkg.storage.base import (
    NO_OPTIONS,
    Backend,
    QueryOptions,
    QueryOutcome,
    Store,
    StoreError,
    Term,
)
from mededkg.storage.embedded import EmbeddedBackend, EmbeddedStore

if TYPE_CHECKING:
    from mededkg.storage.memory import MemoryBackend, MemoryStore

#: The back-ends, as the ``store_backend`` setting names them.
BACKENDS = ("embedded", "memory", "remote")

__all__ = [
    "BACKENDS",
    "NO_OPTIONS",
    "Backend",
    "EmbeddedBackend",
    "EmbeddedStore",
    "MemoryBackend",
    "MemoryStore",
    "QueryOptions",
    "QueryOutcome",
    "Store",
    "StoreError",
    "Term",
    "backend_for",
    "open_store",
]


def backend_for(config: Config, *, serving: bool = False) -> Backend:
    """The back-end the settings choose.

    Args:
        config: settings (``store_backend``, ``store_path``, ``remote_*``).
        serving: for ``serve``: honour ``serve_in_memory``.

    Raises:
        ConfigError: ``remote`` without a ``remote_endpoint``.
    """
    if config.store_backend == "memory":
        from mededkg.storage.memory import MemoryBackend

        return MemoryBackend(config.store_path)
    if config.store_backend == "remote":
        from mededkg.storage.remote import RemoteBackend

        if not config.remote_endpoint:
            raise ConfigError(
                "store_backend remote needs the SPARQL query URL of the server: set "
                "--remote-endpoint (or MEDEDKG_REMOTE_ENDPOINT), e.g. "
                "http://localhost:7878/query for an Oxigraph server"
            )
        return RemoteBackend.from_config(config)
    if config.store_backend != "embedded":
        raise ConfigError(
            f"unknown store_backend {config.store_backend!r}; choose one of: "
            + ", ".join(BACKENDS)
        )
    return EmbeddedBackend(
        config.store_path, in_memory=serving and config.serve_in_memory
    )


def open_store(config: Config, *, serving: bool = False) -> Store:
    """Open the configured back-end's dataset for reading.

    Raises:
        StoreNotFound: nothing has been built there yet.
        ConfigError: the back-end settings are incomplete.
        RemoteUnavailable: the remote server cannot be reached.
    """
    return backend_for(config, serving=serving).open()


def __getattr__(name: str) -> Any:
    """``MemoryBackend`` and ``MemoryStore`` are imported on first use: the memory
    back-end runs rdflib's SPARQL engine, whose import costs 0.3 s of the start of
    every query worker that never uses it."""
    if name in ("MemoryBackend", "MemoryStore"):
        from mededkg.storage import memory

        return getattr(memory, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
