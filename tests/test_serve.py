"""`mededkg serve` — the quick start's run command — as a real process."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import FIXTURE_ROOT


@pytest.mark.server
def test_serve_builds_when_there_is_no_store_then_answers(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mededkg",
            "serve",
            "--port",
            "0",
            "--quiet",
            "--root",
            str(FIXTURE_ROOT),
            "--store-path",
            str(tmp_path / "store"),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            match = re.search(r"serving MedEdKG on (http://\S+/)", line)
            url = match.group(1) if match else None
        assert url, "".join(lines)
        assert any("building it first" in line for line in lines)
        response = requests.get(
            url + "sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D",
            headers={"Accept": "application/sparql-results+json"},
            timeout=10,
        )
        assert response.json()["boolean"] is True
        home = requests.get(url, timeout=10)
        assert home.status_code == 200 and "Named graphs" in home.text
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
