"""The HTTP server: waitress with the limits of the settings, set at the door.

Every limit here acts before the app sees a request: a body announced larger than
``request_body_mb`` is answered 413 from its headers, before a byte of it is read or
buffered to disk; a header block larger than ``request_header_kb`` is answered 431; at
most ``connection_limit`` connections are open (more wait in the listen backlog), and
a connection idle for ``channel_timeout`` seconds, a half-sent request included, is
closed. ``X-Forwarded-*`` headers are dropped unless ``trusted_proxies`` is set (then
:class:`werkzeug.middleware.proxy_fix.ProxyFix` reads them). ``mededkg serve`` and the
tests' live servers are both made here, so the tests exercise the limits production
has.
"""

from __future__ import annotations

from flask import Flask
from waitress.server import BaseWSGIServer, create_server

from mededkg.settings import Config
from webapp import urls

#: Longest wait, in seconds, between two sweeps for idle connections (waitress's
#: default, 30, would let idle connections outlive a short ``channel_timeout``).
CLEANUP_INTERVAL = 5


def body_limit(config: Config) -> int:
    """The largest request body the settings allow, in bytes.

    >>> from pathlib import Path
    >>> body_limit(Config(root=Path("."), store_path=Path("."), request_body_mb=0.5))
    524288
    """
    return int(config.request_body_mb * 1024 * 1024)


def make_server(
    app: Flask,
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    threads: int | None = None,
) -> BaseWSGIServer:
    """A waitress server for *app*, listening, with the settings' HTTP limits.

    When ``public_base_url`` is empty, the app's absolute URLs use the host and the
    port it really listens on (the one the system chose, if the port is 0).

    Args:
        app: the MedEdKG Flask app.
        config: settings (the HTTP limits; ``host``, ``port`` and ``threads`` unless
            given here).
        host: interface to listen on (default: the ``host`` setting).
        port: port to listen on, 0 for any free one (default: the ``port`` setting).
        threads: worker threads (default: the ``threads`` setting).

    Raises:
        OSError: the address is taken or cannot be bound.
    """
    server = create_server(
        app,
        host=config.host if host is None else host,
        port=config.port if port is None else port,
        threads=config.threads if threads is None else threads,
        ident="MedEdKG",
        # waitress refuses a Content-Length >= its limit; Flask's is inclusive.
        max_request_body_size=body_limit(config) + 1,
        max_request_header_size=config.request_header_kb * 1024,
        connection_limit=config.connection_limit,
        channel_timeout=config.channel_timeout,
        cleanup_interval=min(config.channel_timeout, CLEANUP_INTERVAL),
        # X-Forwarded-* reach the app only to be read by werkzeug's ProxyFix, which
        # create_app puts in front when trusted_proxies > 0; otherwise waitress drops
        # them, so nothing can be misled by what any client may write.
        clear_untrusted_proxy_headers=not config.trusted_proxies,
    )
    listening = config.replace(host=config.host if host is None else host)
    urls.listening_on(app, listening, int(server.effective_port))
    return server
