"""Absolute URLs of this server, from the settings — never from the request.

A ``Host`` (or ``X-Forwarded-Host``) header is whatever the client wrote, so links
built from it (the reconciliation manifest's view and preview templates, the service
description's endpoint, the dumps in VoID) would point wherever a client or a
poisoned cache wants. The base is the ``public_base_url`` setting, or, when it is
empty, ``http://HOST:PORT/`` from the ``host`` and ``port`` settings (with the port
the server really listens on, which :func:`webapp.server.make_server` records when
the setting is 0).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request, url_for

from mededkg.settings import Config

#: Key of the public base URL (ending in ``/``) in the app's config.
CONFIG_KEY = "MEDEDKG_PUBLIC_BASE_URL"


def base_url(config: Config, *, port: int | None = None) -> str:
    """The URL clients reach the server at, ending in ``/``.

    Args:
        config: settings (``public_base_url``, else ``host`` and ``port``).
        port: the port the server listens on, if the ``port`` setting is 0.

    >>> from pathlib import Path
    >>> settings = Config(root=Path("."), store_path=Path("."), host="::1")
    >>> base_url(settings, port=8123)
    'http://[::1]:8123/'
    >>> base_url(settings.replace(public_base_url="https://kg.example.org/kg"))
    'https://kg.example.org/kg/'
    """
    if config.public_base_url:
        return config.public_base_url.rstrip("/") + "/"
    host = f"[{config.host}]" if ":" in config.host else config.host
    return f"http://{host}:{config.port if port is None else port}/"


def init_app(app: Flask, config: Config) -> None:
    """Record the public base URL the settings give on *app*."""
    app.config[CONFIG_KEY] = base_url(config)


def listening_on(app: Flask, config: Config, port: int) -> None:
    """Record that *app* is served on *port*: the base of its absolute URLs, unless
    ``public_base_url`` names another."""
    app.config[CONFIG_KEY] = base_url(config, port=port)


def public_url(path: str = "") -> str:
    """*path* on this server as an absolute URL.

    Args:
        path: a path relative to the server's root (a leading ``/`` is ignored).
    """
    base = current_app.config[CONFIG_KEY]
    assert isinstance(base, str)
    return base + path.lstrip("/")


def public_url_for(endpoint: str, **values: Any) -> str:
    """The absolute URL of a view, like ``url_for(..., _external=True)`` but on the
    public base (a script root the request claims is left out as well)."""
    path = url_for(endpoint, **values)
    return public_url(path.removeprefix(request.script_root))
