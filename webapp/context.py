"""What every request needs, kept on the app: the settings, the opened store and the
query worker pool."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from mededkg.query import Limits
from mededkg.sandbox import Answer, Job, QueryPool, answer, checked
from mededkg.settings import Config
from mededkg.store import Store

EXTENSION = "mededkg"


@dataclass(frozen=True)
class AppState:
    """The settings, the store and (unless ``query_workers`` is 0) the worker pool."""

    config: Config
    store: Store
    pool: QueryPool | None

    @property
    def limits(self) -> Limits:
        """Query limits from the settings."""
        return limits_of(self.config)

    def run(self, job: Job) -> Answer:
        """Run a query job in a worker (hard time limit) or, without a pool, here."""
        if self.pool is not None:
            return self.pool.run(job)
        return checked(answer(self.store, self.limits, job))


def limits_of(config: Config) -> Limits:
    """The query limits a configuration sets."""
    return Limits(config.query_timeout, config.result_limit, config.service_allowlist)


def state() -> AppState:
    """The :class:`AppState` of the current app."""
    found = current_app.extensions[EXTENSION]
    assert isinstance(found, AppState)
    return found
