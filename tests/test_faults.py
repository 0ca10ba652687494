"""Faults: ``kill -9`` during a build, an export and acknowledged updates always leaves
a complete old or new store or file, and every acknowledged update survives a
restart; a full disk or a read-only folder gives a clear message and loses nothing.

Each kill harness runs ``MEDEDKG_FAULT_RUNS`` times (default 10 in CI;
``bench/faults.py`` runs 200 of each and writes ``bench/results/faults.json``). The
disk-full and read-only cases mount small tmpfs file systems (root in this sandbox);
where mounting is not allowed they are skipped.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from mededkg.storage import EmbeddedStore
from mededkg.storage.embedded import builds_dir
from tests.conftest import FIXTURE_ROOT
from tests.serving import kill_session, start_serve

RUNS = int(os.environ.get("MEDEDKG_FAULT_RUNS", "10"))
TOKEN = "fault-token"
BASE = "https://w3id.org/mededkg/"
M = "https://w3id.org/mededkg/ontology#"
EXTRA_GRAPH = f"{BASE}graph/extra"
ADDED = (
    "@prefix m: <https://w3id.org/mededkg/ontology#> .\n"
    "<https://w3id.org/mededkg/id/institution/fault> a m:MedicalUniversity ;\n"
    '    m:moeCode "4111099999" .\n'
)


def mededkg(*args: str) -> list[str]:
    """The command line of ``mededkg ARGS`` in this interpreter."""
    return [sys.executable, "-m", "mededkg", *args]


def canonical_store(path: Path) -> frozenset[ox.Quad]:
    """The store's quads in RDFC-1.0 canonical form (builds rename blank nodes)."""
    dataset = ox.Dataset(EmbeddedStore.open(path).quads())
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return frozenset(dataset)


def copy_store(template: Path, folder: Path) -> Path:
    """A private store link in *folder* pointing at a copy of the build *template*."""
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "store"
    target = builds_dir(link) / "copy"
    shutil.copytree(template, target)
    os.symlink(os.path.relpath(target, folder), link)
    return link


@dataclass
class Tally:
    """Outcome counts of one harness."""

    runs: int = 0
    old: int = 0
    new: int = 0
    broken: list[str] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "runs": self.runs,
            "survived": self.runs - len(self.broken),
            "old": self.old,
            "new": self.new,
            "broken": self.broken[:10],
            **self.extra,
        }


# --- kill -9 during a build -----------------------------------------------------------
def kill_at_random_moment(
    command: list[str], rng: random.Random, full_run: float
) -> None:
    """Start *command* in its own session and kill it (-9, the whole session) at a
    random moment up to 10% past the time a full run takes."""
    process = subprocess.Popen(
        command,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(rng.uniform(0.0, full_run * 1.1))
    kill_session(process)


def build_harness(runs: int, folder: Path, seed: int = 1) -> Tally:
    """Kill ``mededkg build --add`` at a random moment, *runs* times; afterwards the
    store must open and hold exactly the old or the new dataset."""
    rng = random.Random(seed)
    reference = folder / "reference"
    subprocess.run(
        mededkg("build", "-q", "--root", str(FIXTURE_ROOT), "--store-path",
                str(reference / "store")),
        check=True,
    )  # fmt: skip
    template = (reference / "store").resolve()
    added = folder / "added.ttl"
    added.write_text(ADDED)
    command = ("build", "-q", "--root", str(FIXTURE_ROOT), "--add", str(added))
    started = time.monotonic()
    subprocess.run(
        mededkg(*command, "--store-path", str(reference / "store")), check=True
    )
    full_run = time.monotonic() - started
    new = canonical_store(reference / "store")
    old_store = copy_store(template, folder / "old")
    old = canonical_store(old_store)
    assert old != new
    tally = Tally()
    for run in range(runs):
        where = folder / f"run{run}"
        link = copy_store(template, where)
        kill_at_random_moment(
            mededkg(*command, "--store-path", str(link)), rng, full_run
        )
        tally.runs += 1
        try:
            found = canonical_store(link)
        except Exception as error:  # any failure to open the store is the finding
            tally.broken.append(f"run {run}: {error}")
            continue
        if found == old:
            tally.old += 1
        elif found == new:
            tally.new += 1
        else:
            tally.broken.append(f"run {run}: neither the old nor the new dataset")
        shutil.rmtree(where, ignore_errors=True)
    return tally


# --- kill -9 during an export ---------------------------------------------------------
def export_harness(runs: int, folder: Path, store: Path, seed: int = 2) -> Tally:
    """Kill ``mededkg export -o FILE`` at a random moment, *runs* times; afterwards
    FILE must hold the old bytes or the complete new export (which parses)."""
    rng = random.Random(seed)
    target = folder / "export.trig"
    reference = folder / "reference.trig"
    command = ("export", "--format", "trig", "--store-path", str(store))
    started = time.monotonic()
    subprocess.run(mededkg(*command, "-o", str(reference)), check=True,
                   capture_output=True)  # fmt: skip
    full_run = time.monotonic() - started
    new = reference.read_bytes()
    ox.Dataset(ox.parse(new, format=ox.RdfFormat.TRIG))  # the reference parses
    old = b"# the previous export\n<http://e/s> <http://e/p> <http://e/o> .\n"
    tally = Tally(extra={"temporary_files_left": 0})
    for run in range(runs):
        target.write_bytes(old)
        kill_at_random_moment(mededkg(*command, "-o", str(target)), rng, full_run)
        tally.runs += 1
        data = target.read_bytes() if target.exists() else b""
        if data == old:
            tally.old += 1
        elif data == new:
            tally.new += 1
        else:
            tally.broken.append(f"run {run}: {len(data)} bytes, neither old nor new")
        leftovers = list(folder.glob(".export.trig.*.tmp"))
        tally.extra["temporary_files_left"] += len(leftovers)
        for leftover in leftovers:
            leftover.unlink()
    return tally


# --- kill -9 during acknowledged updates ----------------------------------------------
def start_server(store: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``mededkg serve`` on a free loopback port with writes on; its URL."""
    served = start_serve(
        "--root", str(FIXTURE_ROOT), "--store-path", str(store),
        "--update-token", TOKEN, "--query-workers", "0", "--rate-limit", "0",
    )  # fmt: skip
    return served.process, served.url


def _insert(n: int) -> str:
    return (
        f"PREFIX m: <{M}> INSERT DATA {{ GRAPH <{EXTRA_GRAPH}> {{ "
        f"<{BASE}id/institution/k{n}> a m:MedicalUniversity ; "
        f'm:moeCode "{4111000000 + n}" }} }}'
    )


def _present(url: str) -> set[int]:
    response = requests.get(
        url + "sparql",
        params={"query": f"SELECT ?s WHERE {{ GRAPH <{EXTRA_GRAPH}> {{ ?s a ?t }} }}"},
        headers={"Accept": "application/sparql-results+json"},
        timeout=30,
    )
    response.raise_for_status()
    return {
        int(row["s"]["value"].rsplit("/k", 1)[1])
        for row in response.json()["results"]["bindings"]
    }


def update_harness(runs: int, folder: Path, template: Path, seed: int = 3) -> Tally:
    """Serve a store, send updates, kill the server (``kill -9``) at a random moment,
    restart it; every update answered 204 must be there after the restart."""
    rng = random.Random(seed)
    link = copy_store(template, folder / "served")
    acknowledged: set[int] = set()
    next_n = 0
    tally = Tally(extra={"acknowledged_updates": 0, "lost_updates": 0})
    for run in range(runs):
        process, url = start_server(link)  # a restart after the previous kill
        try:
            present = _present(url)
        except requests.RequestException as error:
            tally.broken.append(f"run {run}: restarted server does not answer: {error}")
            kill_session(process)
            continue
        lost = acknowledged - present
        tally.extra["lost_updates"] += len(lost)
        if lost:
            tally.broken.append(f"run {run}: acknowledged updates lost: {sorted(lost)}")
        stop = threading.Event()

        def client(first: int, url: str, stop: threading.Event) -> None:
            n = first
            while not stop.is_set():
                try:
                    answer = requests.post(
                        url + "update",
                        data=_insert(n).encode(),
                        headers={
                            "Authorization": f"Bearer {TOKEN}",
                            "Content-Type": "application/sparql-update",
                        },
                        timeout=30,
                    )
                except requests.RequestException:
                    return
                if answer.status_code == 204:
                    acknowledged.add(n)
                n += 1

        before = len(acknowledged)
        sender = threading.Thread(target=client, args=(next_n, url, stop))
        sender.start()
        # kill at a random moment once writes are flowing (the first one of a server
        # also starts its update process server: slow on a loaded machine)
        for _ in range(600):
            if len(acknowledged) > before or not sender.is_alive():
                break
            time.sleep(0.1)
        time.sleep(rng.uniform(0.0, 1.0))
        kill_session(process)
        stop.set()
        sender.join(timeout=30)
        next_n += 1000
        tally.runs += 1
        tally.new += 1 if not lost else 0
    process, url = start_server(link)
    try:
        lost = acknowledged - _present(url)
    finally:
        kill_session(process)
    if lost:
        tally.broken.append(f"final restart: acknowledged updates lost: {sorted(lost)}")
    tally.extra["lost_updates"] += len(lost)
    tally.extra["acknowledged_updates"] = len(acknowledged)
    return tally


# --- the tests -----------------------------------------------------------------
@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture project built once (a build folder to copy)."""
    folder = tmp_path_factory.mktemp("fault-template")
    subprocess.run(
        mededkg("build", "-q", "--root", str(FIXTURE_ROOT), "--store-path",
                str(folder / "store")),
        check=True,
    )  # fmt: skip
    return (folder / "store").resolve()


@pytest.mark.server
def test_kill_9_during_build_leaves_the_old_or_the_new_store(tmp_path: Path) -> None:
    tally = build_harness(RUNS, tmp_path)
    assert tally.broken == []
    assert tally.runs == RUNS


@pytest.mark.server
def test_kill_9_during_export_leaves_the_old_or_the_complete_new_file(
    template: Path, tmp_path: Path
) -> None:
    store = copy_store(template, tmp_path / "s")
    tally = export_harness(RUNS, tmp_path, store)
    assert tally.broken == []
    assert tally.runs == RUNS


@pytest.mark.server
def test_acknowledged_updates_survive_kill_9_and_restart(
    template: Path, tmp_path: Path
) -> None:
    tally = update_harness(max(3, RUNS // 2), tmp_path, template)
    assert tally.broken == []
    assert tally.extra["acknowledged_updates"] > 0, "no update was acknowledged"


# --- full disk, read-only folder -----------------------------------------------
@contextlib.contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """Mount a tmpfs with *options* at *folder* (skip the test if not allowed)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(path: Path) -> None:
    """Write *path* until the file system is full."""
    with contextlib.suppress(OSError), path.open("wb") as filler:
        while True:
            filler.write(b"x" * 4096)
            filler.flush()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(mededkg(*args), capture_output=True, text=True, timeout=60)


def test_export_to_a_full_disk_is_a_clear_error_and_keeps_the_old_file(
    template: Path, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "full", "size=64k") as full:
        old = full / "graph.nq"
        old.write_bytes(b"<http://e/s> <http://e/p> <http://e/o> .\n")
        _fill(full / "filler")
        done = _run("export", "--format", "nq", "-o", str(old),
                    "--store-path", str(template))  # fmt: skip
        assert done.returncode == 2
        assert "No space left on device" in done.stderr
        assert "Traceback" not in done.stderr
        assert old.read_bytes() == b"<http://e/s> <http://e/p> <http://e/o> .\n"
        assert sorted(p.name for p in full.iterdir()) == ["filler", "graph.nq"]


def test_export_into_a_read_only_folder_is_a_clear_error(
    template: Path, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "ro", "ro") as read_only:
        done = _run("export", "--format", "nq", "-o", str(read_only / "g.nq"),
                    "--store-path", str(template))  # fmt: skip
        assert done.returncode == 2
        assert "Read-only file system" in done.stderr
        assert "Traceback" not in done.stderr


def test_build_on_a_full_disk_is_a_clear_error_and_keeps_the_old_store(
    template: Path, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "full", "size=2m") as full:
        link = copy_store(template, full)  # fills most of the 2 MB
        before = canonical_store(link)
        _fill(full / "filler")
        done = _run("build", "-q", "--root", str(FIXTURE_ROOT), "--store-path",
                    str(link))  # fmt: skip
        assert canonical_store(link) == before
        assert "Traceback" not in done.stderr, done.stderr[-600:]
        assert done.returncode == 2
        assert "No space left on device" in done.stderr


def test_build_into_a_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "ro") as read_only:
        done = _run("build", "-q", "--root", str(FIXTURE_ROOT), "--store-path",
                    str(read_only / "store"))  # fmt: skip
        assert "Traceback" not in done.stderr, done.stderr[-600:]
        assert done.returncode == 2
        assert "Read-only file system" in done.stderr
