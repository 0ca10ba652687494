"""Who may write: the ``Authorization: Bearer`` token of the write endpoints.

HTTP authentication belongs to the web layer; the core's write path
(:mod:`mededkg.pipeline.write`) applies a write it is given and knows nothing of
headers.
"""

from __future__ import annotations

import hmac

from mededkg.pipeline.write import WriteError
from mededkg.settings import Config

_READ_ONLY = (
    "the endpoint is read-only; writes need a configured update_token "
    "(--update-token or MEDEDKG_UPDATE_TOKEN)"
)


class WritesDisabled(WriteError):
    """No ``update_token`` is configured, so the store is read-only."""


class NotAuthorized(WriteError):
    """The request lacks the right ``Authorization: Bearer`` token."""


def authorize(config: Config, authorization: str | None) -> None:
    """Check an ``Authorization`` header value against the configured token
    (compared in constant time).

    Raises:
        WritesDisabled: no token is configured (the store is read-only).
        NotAuthorized: the header is missing, not ``Bearer``, or the wrong token.

    >>> from mededkg.settings import load_config
    >>> authorize(load_config({"update_token": "s3cret"}, {}), "Bearer s3cret")
    """
    if not config.update_token:
        raise WritesDisabled(_READ_ONLY)
    scheme, _, supplied = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        supplied.strip().encode(), config.update_token.encode()
    ):
        raise NotAuthorized(
            "writes need the header 'Authorization: Bearer <token>' with the "
            "configured update_token"
        )
