"""`mededkg serve` — the quick start's run command — as a real process."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.conftest import FIXTURE_ROOT
from tests.serving import kill_session, start_serve


@pytest.mark.server
def test_serve_builds_when_there_is_no_store_then_answers(tmp_path: Path) -> None:
    served = start_serve(
        "--root", str(FIXTURE_ROOT), "--store-path", str(tmp_path / "store")
    )
    url = served.url
    try:
        assert any("building it first" in line for line in served.startup)
        response = requests.get(
            url + "sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D",
            headers={"Accept": "application/sparql-results+json"},
            timeout=10,
        )
        assert response.json()["boolean"] is True
        home = requests.get(url, timeout=10)
        assert home.status_code == 200 and "Named graphs" in home.text
    finally:
        kill_session(served.process)
