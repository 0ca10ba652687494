"""What every request needs, kept on the app: the settings and the opened store."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from mededkg.query import Limits
from mededkg.settings import Config
from mededkg.store import Store

EXTENSION = "mededkg"


@dataclass(frozen=True)
class AppState:
    """The settings and the store of one app."""

    config: Config
    store: Store

    @property
    def limits(self) -> Limits:
        """Query limits from the settings."""
        return Limits(
            self.config.query_timeout,
            self.config.result_limit,
            self.config.service_allowlist,
        )


def state() -> AppState:
    """The :class:`AppState` of the current app."""
    found = current_app.extensions[EXTENSION]
    assert isinstance(found, AppState)
    return found
