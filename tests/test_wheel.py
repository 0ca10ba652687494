"""A wheel that works anywhere: `python -m build` makes an sdist and a wheel that carry
the ontology, data, queries, templates, static assets and translations; the wheel,
installed into a fresh virtual environment outside the repository, builds, serves and
exports the graph; `twine check` passes on both.

Slow (minutes: one whole build of the real graph) and needs PyPI or pip's cache for the
dependencies: deselect with ``-m "not wheel"``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from rdflib import Dataset

from tests.serving import kill_session, start_serve

REPO = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.wheel, pytest.mark.server]

#: Folders of the repository the installed package needs, and where the wheel has them.
BUNDLED = {
    "ontology": "mededkg/_project/ontology",
    "data": "mededkg/_project/data",
    "queries": "mededkg/_project/queries",
    "webapp/templates": "webapp/templates",
    "webapp/static": "webapp/static",
    "webapp/translations": "webapp/translations",
    "webapp/queries": "webapp/queries",
    "mededkg/sparql": "mededkg/sparql",
    "mededkg/templates": "mededkg/templates",
}


def run(
    args: Sequence[str | Path], *, cwd: Path, timeout: float, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run *args*; fail the test with their output if they fail."""
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} exited {result.returncode}\n"
        f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    )
    return result


def clean_env(bin_dir: Path | None = None) -> dict[str, str]:
    """The environment less anything that would point at the repository or change
    the settings (``MEDEDKG_*``, ``PYTHONPATH``, an active virtualenv)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MEDEDKG_", "PYTHON", "VIRTUAL_ENV"))
    }
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary folder outside the repository."""
    folder = tmp_path_factory.mktemp("wheel")
    assert not folder.resolve().is_relative_to(REPO)
    return folder


@pytest.fixture(scope="module")
def dist(outside: Path) -> Path:
    """The sdist and the wheel by `python -m build` (the wheel built from the sdist)."""
    out = outside / "dist"
    run(
        [sys.executable, "-m", "build", "--outdir", out, REPO],
        cwd=outside,
        timeout=900,
        env=clean_env(),
    )
    return out


def only(folder: Path, pattern: str) -> Path:
    (path,) = folder.glob(pattern)
    return path


def repo_files(folder: str) -> set[str]:
    """Files of a repository folder, relative to it (caches left out)."""
    base = REPO / folder
    return {
        p.relative_to(base).as_posix()
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_wheel_holds_everything_the_installed_package_needs(dist: Path) -> None:
    names = set(zipfile.ZipFile(only(dist, "mededkg-*.whl")).namelist())
    for folder, inside in BUNDLED.items():
        expected = repo_files(folder)
        assert expected, folder
        missing = {f"{inside}/{f}" for f in expected} - names
        assert not missing, f"{folder}: not in the wheel: {sorted(missing)[:10]}"
    # the pieces the build and the pages read, named so a renamed folder shows here
    for name in (
        "mededkg/_project/ontology/mededkg.ttl",
        "mededkg/_project/data/links/institutions-ror.sssom.tsv",
        "webapp/translations/zh/LC_MESSAGES/messages.po",
        "webapp/templates/base.html",
        "webapp/static/mededkg.css",
    ):
        assert name in names
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)


def test_sdist_holds_the_project_and_no_caches(dist: Path) -> None:
    with tarfile.open(only(dist, "mededkg-*.tar.gz")) as sdist:
        top = {n.split("/")[1] for n in sdist.getnames() if n.count("/") >= 1}
    assert {"mededkg", "webapp", "ontology", "data", "queries", "pyproject.toml"} <= top
    assert {"README.md", "LICENSE"} <= top
    assert not top & {".hypothesis", "var", ".venv", "dist", "build"}


def test_twine_check_passes(dist: Path, outside: Path) -> None:
    files = sorted(dist.iterdir())
    assert len(files) == 2
    run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        cwd=outside,
        timeout=120,
        env=clean_env(),
    )


@pytest.fixture(scope="module")
def venv(dist: Path, outside: Path) -> Path:
    """A fresh virtual environment outside the repository with the wheel installed
    (dependencies from PyPI through pip's cache). It has no pip of its own: this
    interpreter's pip installs into it (``pip --python``), which saves seeding one."""
    folder = outside / "venv"
    run(
        [sys.executable, "-m", "venv", "--without-pip", folder],
        cwd=outside,
        timeout=120,
        env=clean_env(),
    )
    python = folder / "bin" / "python"
    wheel = only(dist, "mededkg-*.whl")
    run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", wheel],
        cwd=outside,
        timeout=1200,
        env=clean_env(),
    )
    return folder


@pytest.fixture
def serving(venv: Path, outside: Path, store: Path) -> Iterator[str]:
    """`mededkg serve` of the installed package on a free port; its base URL."""
    bin_dir = venv / "bin"
    served = start_serve(
        *("--store-path", str(store), "--host", "127.0.0.1"),
        timeout=180,
        command=[str(bin_dir / "mededkg")],
        cwd=outside / "work",
        env=clean_env(bin_dir),
    )
    try:
        yield served.url.rstrip("/")
    finally:
        kill_session(served.process)


@pytest.fixture(scope="module")
def store(venv: Path, outside: Path) -> Path:
    """`mededkg build` of the installed package, from a folder outside the repository,
    into a store there (an installed package's default store, var/store of its bundled
    project folder, lies in site-packages)."""
    work = outside / "work"
    work.mkdir()
    bin_dir = venv / "bin"
    store = work / "store"
    run(
        [bin_dir / "mededkg", "build", "--quiet", "--store-path", store],
        cwd=work,
        timeout=1800,
        env=clean_env(bin_dir),
    )
    assert store.exists()
    return store


def test_the_installed_package_is_the_wheel_not_the_repository(
    venv: Path, outside: Path
) -> None:
    script = (
        "import json, sysconfig, mededkg, webapp\n"
        "from mededkg.resources import default_root\n"
        "print(json.dumps([sysconfig.get_paths()['purelib'], mededkg.__file__,"
        " webapp.__file__, str(default_root())]))"
    )
    result = run(
        [venv / "bin" / "python", "-c", script],
        cwd=outside,
        timeout=120,
        env=clean_env(venv / "bin"),
    )
    purelib, *found = (Path(p).resolve() for p in json.loads(result.stdout))
    assert purelib.is_relative_to(venv.resolve())
    for path in found:
        assert path.is_relative_to(purelib), path
        assert not path.is_relative_to(REPO), path
    assert found[-1] == purelib / "mededkg" / "_project"


def get(url: str, accept: str = "*/*") -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.headers["Content-Type"], response.read()


def test_installed_package_builds_and_serves(
    serving: str, store: Path, venv: Path
) -> None:
    ask = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    status, _, body = get(f"{serving}/sparql?{ask}", "application/sparql-results+json")
    assert status == 200
    assert json.loads(body)["boolean"] is True
    # pages (templates, translations), static assets and named queries came along
    for path, kind in [
        ("/", "text/html"),
        ("/?lang=zh", "text/html"),
        ("/static/mededkg.css", "text/css"),
        ("/api/queries", "application/json"),
    ]:
        status, content_type, body = get(serving + path)
        assert status == 200, path
        assert content_type.startswith(kind), (path, content_type)
        assert body, path
    (site_packages,) = (venv / "lib").glob("python*/site-packages")
    assert not (site_packages / "mededkg" / "_project" / "var").exists()


def test_installed_package_exports(venv: Path, outside: Path, store: Path) -> None:
    bin_dir = venv / "bin"
    target = outside / "work" / "export.trig"
    run(
        [
            *(bin_dir / "mededkg", "export", "--store-path", store),
            *("--format", "trig", "-o", target),
        ],
        cwd=outside / "work",
        timeout=600,
        env=clean_env(bin_dir),
    )
    dataset = Dataset()
    dataset.parse(target, format="trig")
    sizes = {str(g.identifier): len(g) for g in dataset.graphs()}
    assert sum(sizes.values()) > 1000, sizes
    for name in ("ontology", "institutions", "links", "inferred"):
        assert sizes.get(f"https://w3id.org/mededkg/graph/{name}", 0) > 0, sizes
