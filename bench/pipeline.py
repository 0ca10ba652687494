"""One measured build: ``mededkg build`` itself, each step timed, with its memory.

Calls :func:`mededkg.pipeline.build.build` — the build users run, with its default
settings (the fast reasoner, rudof validating in a thread beside reasoning and the
store write, the downloads listed and made on first download) — and records each
step as the build reports it: its seconds (the build's own clock), the CPU the
process used and its peak resident memory (a thread reads ``psutil`` RSS every 20
ms) between the step's start and end. Validation runs beside ``reason`` and
``store``, so its window overlaps theirs; the build's total is its wall time, not
the sum of the steps. With dumps on, every download file is then written
(``dumps (every file)``), as a server's first downloads would.
Above ``--stream-above`` triples the build does not fit in memory (the quads and
the reasoner's terms are Python objects): the files are then streamed straight
into Oxigraph (``bulk_load``) and reasoning and validation are skipped, saying so
in the result.

Run in its own process (``python bench/pipeline.py …``) so peaks are per build;
prints one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

import psutil
import pyoxigraph as ox

from mededkg.namespaces import SHAPES_GRAPH, graph_iri
from mededkg.pipeline import build as build_module
from mededkg.pipeline.dumps import dumps_folder, write_dumps
from mededkg.settings import Config, load_config
from mededkg.storage import EmbeddedStore

GB = 1024**3


class PeakSampler:
    """Samples this process's RSS in a thread; each open window keeps its own peak,
    so windows may overlap (the build's steps do)."""

    def __init__(self, interval: float = 0.02) -> None:
        self._process = psutil.Process()
        self._windows: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            rss = self._process.memory_info().rss
            with self._lock:
                for name, peak in self._windows.items():
                    self._windows[name] = max(peak, rss)

    def open(self, name: str) -> None:
        """Start the window *name* at the current RSS."""
        with self._lock:
            self._windows[name] = self._process.memory_info().rss

    def close(self, name: str) -> int:
        """End the window *name*: its peak RSS in bytes."""
        rss = self._process.memory_info().rss
        with self._lock:
            return max(self._windows.pop(name, rss), rss)

    def stop(self) -> None:
        """End sampling."""
        self._stop.set()


def run(
    config: Config,
    added: list[Path],
    *,
    dumps: bool,
    stream: bool,
) -> dict[str, Any]:
    """Build once; return its steps with seconds and peak RSS, and the build's
    own wall and CPU time (``build``: the steps overlap, so they do not add up)."""
    sampler = PeakSampler()
    recorder = _StepRecorder(sampler)
    notes: list[str] = []

    @contextmanager
    def step(name: str) -> Iterator[dict[str, int]]:
        """A step of this script's own, recorded as the build's steps are."""
        recorder.step_started(name)
        start = time.perf_counter()
        count = {"triples": 0}
        yield count
        seconds = time.perf_counter() - start
        recorder.step(build_module.Step(name, seconds, count["triples"]))

    if stream:
        notes.append(
            "streamed: the files were bulk-loaded into Oxigraph; reasoning and SHACL "
            "validation were skipped (the rdflib-based steps need ~1.5 KB of memory "
            "per triple and would not fit)"
        )
        with step("store (bulk load, no reasoning/validation)") as count:
            count["triples"] = _stream_build(config, added)
        build_wall = {k: recorder.records[-1][k] for k in ("seconds", "cpu_seconds")}
    else:
        start, cpu = time.perf_counter(), _cpu()
        result = build_module.build(config, added, reporter=recorder)
        build_wall = {
            "seconds": round(time.perf_counter() - start, 3),
            "cpu_seconds": round(_cpu() - cpu, 3),
            "quads": len(result.quads),
            "conforms": result.report.conforms,
        }
        del result
    if dumps:
        with step("dumps (every file)") as count:
            store = EmbeddedStore.open(config.store_path)
            assert store.location is not None
            folder = dumps_folder(store.location)
            files = write_dumps(store, folder, config.base_iri, lazy=False)
            count["triples"] = len(files)
    else:
        notes.append("dumps skipped (--no-dumps or above the dumps size limit)")
    sampler.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "steps": recorder.records,
        "build": build_wall,
        "peak_rss_mb": round(peak / 2**20),
        "notes": notes,
    }


class _StepRecorder(build_module.Reporter):
    """Each step the build (or this script) reports, with the CPU the process used
    and its peak memory from the step's start. ``validate`` runs in a thread from
    the end of ``load``; the build says it started only when it waits for it, so
    it gets neither: its CPU is in the steps beside it."""

    def __init__(self, sampler: PeakSampler) -> None:
        self.sampler = sampler
        self.records: list[dict[str, Any]] = []
        self._cpu_at: dict[str, float] = {}

    def step_started(self, name: str) -> None:
        self.sampler.open(name)
        self._cpu_at[name] = _cpu()

    def step(self, step: build_module.Step) -> None:
        record: dict[str, Any] = {"step": step.name, "seconds": round(step.seconds, 3)}
        record["triples"] = step.triples
        peak = self.sampler.close(step.name)
        if step.name in self._cpu_at and step.name != "validate":
            record["cpu_seconds"] = round(_cpu() - self._cpu_at[step.name], 3)
            record["peak_rss_mb"] = round(peak / 2**20)
        record["loadavg"] = [round(x, 2) for x in os.getloadavg()]
        if step.name == "validate":
            record["detail"] = "a thread beside reason and store, from the end of load"
        elif step.detail:
            record["detail"] = step.detail
        self.records.append(record)


def _cpu() -> float:
    """CPU seconds this process used (user + system): robust on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _stream_build(config: Config, added: list[Path]) -> int:
    """Bulk-load the project's sources and *added* into a fresh store folder."""
    folder = config.store_path.parent / (config.store_path.name + ".stream")
    if folder.exists():
        shutil.rmtree(folder)
    store = ox.Store(str(folder))
    for source in build_module.sources_for(config, added):
        if source.graph == SHAPES_GRAPH or source.path.name.endswith(".tsv"):
            continue
        graph = ox.NamedNode(str(graph_iri(config.base_iri, source.graph)))
        name = source.path.name.removesuffix(".gz")
        fmt = ox.RdfFormat.from_extension(name.rsplit(".", 1)[-1])
        fmt = fmt or ox.RdfFormat.TURTLE
        if source.path.name.endswith(".gz"):
            with gzip.open(source.path, "rb") as data:
                store.bulk_load(cast(IO[bytes], data), format=fmt, to_graph=graph)
        else:
            store.bulk_load(path=str(source.path), format=fmt, to_graph=graph)
    store.flush()
    count = len(store)
    del store
    if config.store_path.is_symlink() or config.store_path.exists():
        config.store_path.unlink()
    config.store_path.symlink_to(folder)
    return count


def main(argv: list[str] | None = None) -> int:
    """Command line: one build, JSON on stdout."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store-path", type=Path, required=True)
    parser.add_argument("--add", type=Path, action="append", default=[])
    parser.add_argument("--reasoner", default="fast")
    parser.add_argument("--no-dumps", action="store_true")
    parser.add_argument("--stream", action="store_true")
    args = parser.parse_args(argv)
    config = load_config(
        {"store_path": str(args.store_path), "reasoner": args.reasoner}, {}
    )
    args.store_path.parent.mkdir(parents=True, exist_ok=True)
    result = run(config, args.add, dumps=not args.no_dumps, stream=args.stream)
    result["reasoner"] = args.reasoner
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
