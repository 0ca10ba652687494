"""What every request needs, kept on the app: the settings, the opened store and the
query worker pool.

The store is swappable: a write (here or in another process, e.g. ``mededkg build``)
points the store link at a new build, and the next request that asks for the store
reopens it and restarts the query workers on the new build.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app

from mededkg.errors import QueryError
from mededkg.isolation import Isolation
from mededkg.query.answers import Answer, Job, answer, checked
from mededkg.query.federation import nested_message
from mededkg.query.gate import Limits, limits_for
from mededkg.query.sandbox import QueryPool
from mededkg.settings import Config
from mededkg.storage import EmbeddedStore, Store

EXTENSION = "mededkg"


@dataclass
class StoreHolder:
    """The store the app currently serves, replaced when the store link moves."""

    current: Store
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: identity of the build the store link pointed at when last checked
    seen: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class AppState:
    """The settings, the store and (unless ``query_workers`` is 0) the worker pool;
    with a ``service_allowlist`` on a host that isolates workers, also the pool's
    networked twin for allow-listed SERVICE queries."""

    config: Config
    holder: StoreHolder
    pool: QueryPool | None
    federation_pool: QueryPool | None = None
    isolation: Isolation = field(default_factory=Isolation)

    @property
    def store(self) -> Store:
        """The current store (reopened first if the store link points elsewhere)."""
        self.refresh()
        return self.holder.current

    @property
    def store_version(self) -> object:
        """What changes when the store the app serves changes (its build folder, or
        the store object of a back-end without one): the key of per-build caches."""
        store = self.store
        return store.location or id(store)

    @property
    def build(self) -> str | None:
        """The name of the build folder the store serves (embedded back-end), else
        ``None``. Read after :meth:`run`, which follows the store link first, it names
        the build that answered."""
        location = self.holder.current.location
        return location.name if location is not None else None

    @property
    def limits(self) -> Limits:
        """Query limits from the settings."""
        return limits_of(self.config)

    def run(self, job: Job, client: str = "") -> Answer:
        """Run a query job for *client* (its IP) in a worker (hard time limit, no
        network) or, without a pool, here."""
        store = self.store
        if self.pool is None:
            try:
                return checked(answer(store, self.limits, job))
            except RecursionError:  # in-process only; workers answer it themselves
                raise QueryError(nested_message()) from None
        result = self.pool.run(job, client)
        if result.kind == "federate":
            if self.federation_pool is None:
                raise QueryError("SERVICE is not available on this server")
            result = self.federation_pool.run(job, client)
        return result

    def egress(self) -> str:
        """How this server keeps queries off the network, in one line."""
        if self.pool is not None:
            return self.isolation.describe()
        return (
            "queries run in the server process, which has the network: SERVICE must "
            "be allow-listed and rdflib's parser must be able to check the query "
            "(see docs/security.md)"
        )

    def close(self) -> None:
        """Stop the query workers."""
        for pool in (self.pool, self.federation_pool):
            if pool is not None:
                pool.close()

    def refresh(self) -> bool:
        """Reopen the store if its link now points at another build.

        Returns:
            True if the store was reopened (and the query workers restarted).
        """
        location = self.holder.current.location
        if location is None:
            # An in-memory store given by the caller, or the memory or remote
            # back-end (a remote load swaps graphs on the server): nothing to follow.
            return False
        identity = _identity(self.config.store_path)
        if identity is not None and identity == self.holder.seen:
            return False  # one stat() per request; resolving the link costs ~10 more
        target = _target(self.config.store_path)
        if target is None or target == location:
            self.holder.seen = identity
            return False
        with self.holder.lock:
            if self.holder.current.location == target:
                return False
            self.holder.current = EmbeddedStore.open(
                self.config.store_path, in_memory=self.config.serve_in_memory
            )
            for pool in (self.pool, self.federation_pool):
                if pool is not None:
                    pool.reload(self.holder.current.location or target)
        return True


def _identity(link: Path) -> tuple[int, int, int] | None:
    """Device, inode and change time of the build the store link points at: a new
    build is a new folder, so any change of the link changes this."""
    try:
        found = os.stat(link)
    except OSError:
        return None
    return found.st_dev, found.st_ino, found.st_ctime_ns


def _target(link: Path) -> Path | None:
    try:
        return link.resolve(strict=True)
    except OSError:
        return None


def limits_of(config: Config) -> Limits:
    """The query limits a configuration sets (query text from clients: untrusted)."""
    return limits_for(config)


def state() -> AppState:
    """The :class:`AppState` of the current app."""
    return app_state(current_app)


def app_state(app: Flask) -> AppState:
    """The :class:`AppState` of *app*."""
    found = app.extensions[EXTENSION]
    assert isinstance(found, AppState)
    return found
