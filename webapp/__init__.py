"""MedEdKG web application: the SPARQL endpoint, its write path (``/update``,
``/graph-store``, only with an update token) and the pages over one store."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from mededkg.errors import ConfigError
from mededkg.isolation import Isolation, probe
from mededkg.query.sandbox import QueryPool, start_fork_server
from mededkg.settings import Config, load_config
from mededkg.storage import Store, open_store
from webapp import (  # pages: browsers, language, IRIs
    api,
    browse,
    completion,
    describe,
    downloads,
    editor,
    errors,
    fastpath,
    i18n,
    pages,
    ratelimit,
    reconcile,
    resources,
    security,
    sparql,
    update,
    urls,
)
from webapp.context import EXTENSION, AppState, StoreHolder, limits_of
from webapp.server import body_limit


def create_app(config: Config | None = None, *, store: Store | None = None) -> Flask:
    """Create the Flask app over a built store.

    Args:
        config: settings (default: the defaults, without reading the environment).
        store: an already opened store (default: open the configured back-end).

    Raises:
        StoreNotFound: if no store was given and none has been built.
        ConfigError: ``update_token`` with a back-end other than ``embedded``.
    """
    config = config or load_config()
    app = Flask(__name__)
    app.config.update(MEDEDKG=config, MAX_CONTENT_LENGTH=body_limit(config))
    urls.init_app(app, config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if store is None:
        store = open_store(config, serving=True)
    if config.update_token and store.backend != "embedded":
        raise ConfigError(
            f"writes (update_token) need the embedded store back-end, not "
            f"{store.backend}: unset update_token, or load changes with `mededkg build`"
        )
    pool = federation_pool = None
    kernel = Isolation()
    # Remote queries already run out of process (the HTTP timeout is their limit);
    # the memory back-end's rdflib dataset cannot be shared with worker processes.
    if config.query_workers and store.backend == "embedded":
        kernel = probe()
        location = store.location or config.store_path
        pool = _pool(config, location, config.query_workers, isolate=True)
        if config.service_allowlist and kernel.closed:
            federation_pool = _pool(config, location, 1, isolate=False)
    if config.update_token:
        start_fork_server()  # updates are parsed and applied in its children
    app.extensions[EXTENSION] = AppState(
        config, StoreHolder(store), pool, federation_pool, kernel
    )
    errors.register(app)
    security.init_app(app)
    ratelimit.init_app(app)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(describe.bp)
    app.register_blueprint(editor.bp)
    app.register_blueprint(completion.bp)
    app.register_blueprint(update.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(reconcile.bp)
    i18n.init_app(app)
    app.register_blueprint(browse.bp)
    app.register_blueprint(resources.bp)  # last: every other path under the base
    app.wsgi_app = fastpath.FastQueries(app)  # type: ignore[method-assign]
    if config.trusted_proxies:
        # Outermost, so the fast path and the rate limit both see the client's
        # address; with 0 proxies X-Forwarded-* is never read (anyone can send it).
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=0
        )
    return app


def _pool(config: Config, location: Path, workers: int, *, isolate: bool) -> QueryPool:
    return QueryPool(
        location,
        limits_of(config),
        workers=workers,
        queue_timeout=config.queue_timeout,
        memory_mb=config.worker_memory_mb,
        in_memory=config.serve_in_memory,
        isolate=isolate,
        client_queries=config.client_queries,
    )
