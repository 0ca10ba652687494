"""The app as a WSGI callable for servers other than ``mededkg serve``'s waitress.

``mededkg serve`` is the supported way to serve MedEdKG: it builds the store when there
is none, and its waitress server enforces the HTTP limits of :mod:`webapp.server` at
the door (a body announced over ``request_body_mb`` answered 413 before it is read,
431 for a huge header block, ``connection_limit``, ``channel_timeout``). Behind
another WSGI server those door limits are that server's to configure; everything the
app does itself is the same: the query workers with their hard time limit, the result
and size limits, no egress, the rate limit and the security headers.

The settings come from ``MEDEDKG_*`` environment variables (``docs/settings.md``), and
the store must have been built (``mededkg build``)::

    MEDEDKG_STORE_PATH=var/store granian --interface wsgi --factory webapp.wsgi:create
    MEDEDKG_STORE_PATH=var/store gunicorn 'webapp.wsgi:create()'

``bench/http_layer.py`` serves the app this way to compare HTTP layers.
"""

from __future__ import annotations

import os

from flask import Flask

from mededkg.settings import load_config
from webapp import create_app


def create() -> Flask:
    """The MedEdKG app over the built store the ``MEDEDKG_*`` settings name.

    Raises:
        StoreNotFound: nothing has been built at the store path (run ``mededkg build``).
        ConfigError: a setting's value is not accepted (naming the variable).
    """
    return create_app(load_config(environ=os.environ))
