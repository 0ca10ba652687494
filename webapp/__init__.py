"""MedEdKG web application: the SPARQL endpoint, its write path (``/update``,
``/graph-store``, only with an update token) and the pages over one store."""

from __future__ import annotations

from flask import Flask

from mededkg.backends import open_store
from mededkg.errors import ConfigError
from mededkg.sandbox import QueryPool
from mededkg.settings import Config, load_config
from mededkg.store import Store
from webapp import (  # pages: browsers, language, IRIs
    api,
    browse,
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
)
from webapp.context import EXTENSION, AppState, StoreHolder, limits_of


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
    app.config.update(MEDEDKG=config, MAX_CONTENT_LENGTH=1024 * 1024)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if store is None:
        store = open_store(config, serving=True)
    if config.update_token and store.backend != "embedded":
        raise ConfigError(
            f"writes (update_token) need the embedded store back-end, not "
            f"{store.backend}: unset update_token, or load changes with `mededkg build`"
        )
    pool = None
    # Remote queries already run out of process (the HTTP timeout is their limit);
    # the memory back-end's rdflib dataset cannot be shared with worker processes.
    if config.query_workers and store.backend == "embedded":
        location = store.location or config.store_path
        pool = QueryPool(
            location,
            limits_of(config),
            workers=config.query_workers,
            queue_timeout=config.queue_timeout,
            memory_mb=config.worker_memory_mb,
            in_memory=config.serve_in_memory,
        )
    app.extensions[EXTENSION] = AppState(config, StoreHolder(store), pool)
    errors.register(app)
    security.init_app(app)
    ratelimit.init_app(app)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(describe.bp)
    app.register_blueprint(editor.bp)
    app.register_blueprint(update.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(reconcile.bp)
    i18n.init_app(app)
    app.register_blueprint(browse.bp)
    app.register_blueprint(resources.bp)  # last: every other path under the base
    app.wsgi_app = fastpath.FastQueries(app)  # type: ignore[method-assign]
    return app
