"""The per-client rate limit (:mod:`webapp.ratelimit`) over a real server: pages,
the endpoint's fast path and the API share one bucket per client, static files are
free, and the client is the connection's address unless ``trusted_proxies`` says
which ``X-Forwarded-For`` entry to believe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from mededkg.settings import Config
from tests.conftest import _serve
from webapp import create_app

pytestmark = pytest.mark.server

ASK = {"query": "ASK { ?s ?p ?o }"}
JSON = {"Accept": "application/sparql-results+json"}


def _limited(config: Config, **settings: object) -> Iterator[str]:
    """A live server allowing each client a burst of 2 requests and (for the length
    of a test) no more."""
    app = create_app(
        config.replace(query_workers=0, rate_limit=0.001, rate_burst=2, **settings)
    )
    yield from _serve(app)


def _status(url: str, forwarded_for: str | None = None) -> int:
    headers = dict(JSON)
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return requests.get(url, headers=headers, timeout=30).status_code


def test_pages_are_limited_and_static_files_are_not(fixture_config: Config) -> None:
    for url in _limited(fixture_config):
        assert [_status(url + "/ontology") for _ in range(3)] == [200, 200, 429]
        refused = requests.get(url + "/degrees", timeout=30)
        assert refused.status_code == 429 and refused.headers["Retry-After"]
        assert all(
            requests.get(url + "/static/mededkg.css", timeout=30).status_code == 200
            for _ in range(5)
        )


def test_the_fast_path_and_pages_share_one_bucket(fixture_config: Config) -> None:
    for url in _limited(fixture_config):
        fast = [requests.get(url + "/sparql", params=ASK, headers=JSON, timeout=30)]
        fast.append(requests.get(url + "/sparql", params=ASK, headers=JSON, timeout=30))
        assert [r.status_code for r in fast] == [200, 200]
        assert _status(url + "/") == 429
        third = requests.get(url + "/sparql", params=ASK, headers=JSON, timeout=30)
        assert third.status_code == 429


def test_behind_one_trusted_proxy_each_forwarded_client_has_its_bucket(
    fixture_config: Config,
) -> None:
    for url in _limited(fixture_config, trusted_proxies=1):
        sparql = url + "/sparql?query=ASK%7B%7D"
        first = [_status(sparql, "10.0.0.1") for _ in range(3)]
        assert first == [200, 200, 429]
        assert _status(sparql, "10.0.0.2") == 200
        assert _status(url + "/ontology", "10.0.0.2") == 200
        assert _status(url + "/ontology", "10.0.0.2") == 429
        # The proxy appends the address it saw: only the last entry is believed.
        assert _status(sparql, "10.0.0.3, 10.0.0.1") == 429


def test_without_trusted_proxies_x_forwarded_for_is_ignored(
    fixture_config: Config,
) -> None:
    for url in _limited(fixture_config):
        sparql = url + "/sparql?query=ASK%7B%7D"
        assert [_status(sparql, "10.0.0.1") for _ in range(3)] == [200, 200, 429]
        assert _status(sparql, "10.0.0.2") == 429
        assert _status(url + "/ontology", "10.0.0.3") == 429
