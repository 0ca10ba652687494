"""One measured build: each step of ``mededkg build`` timed, with its peak memory.

Runs the library's own step functions in the order :func:`mededkg.pipeline.build.build`
runs them (load → reason → validate → store, then the downloads), so each step can be
timed and its peak resident memory sampled (a thread reads ``psutil`` RSS every 20 ms).
Above ``--stream-above`` triples the rdflib-based steps would not fit in memory
(rdflib holds ~1.5 KB per triple): the build then streams the files straight into
Oxigraph (``bulk_load``) and skips reasoning and validation, saying so in the result.

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

from mededkg.namespaces import INFERRED_GRAPH, SHAPES_GRAPH, graph_iri, graph_name
from mededkg.pipeline import build as build_module
from mededkg.pipeline.dumps import dumps_folder, write_dumps
from mededkg.pipeline.reason import reason
from mededkg.settings import Config, load_config
from mededkg.storage import EmbeddedStore
from mededkg.storage.embedded import write_store

GB = 1024**3


class PeakSampler:
    """Samples this process's RSS in a thread; :meth:`window` gives a step's peak."""

    def __init__(self, interval: float = 0.02) -> None:
        self._process = psutil.Process()
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def reset(self) -> None:
        """Start a new window at the current RSS."""
        self._peak = self._process.memory_info().rss

    def peak(self) -> int:
        """Peak RSS (bytes) since the last :meth:`reset`."""
        return max(self._peak, self._process.memory_info().rss)

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
    """Build once, step by step; return the steps with seconds and peak RSS."""
    sampler = PeakSampler()
    steps: list[dict[str, Any]] = []
    notes: list[str] = []

    @contextmanager
    def step(name: str) -> Iterator[dict[str, Any]]:
        sampler.reset()
        record: dict[str, Any] = {"step": name}
        start, cpu = time.perf_counter(), _cpu()
        yield record
        record["seconds"] = round(time.perf_counter() - start, 3)
        record["cpu_seconds"] = round(_cpu() - cpu, 3)
        record["peak_rss_mb"] = round(sampler.peak() / 2**20)
        record["loadavg"] = [round(x, 2) for x in os.getloadavg()]
        steps.append(record)

    if stream:
        notes.append(
            "streamed: the files were bulk-loaded into Oxigraph; reasoning and SHACL "
            "validation were skipped (the rdflib-based steps need ~1.5 KB of memory "
            "per triple and would not fit)"
        )
        with step("store (bulk load, no reasoning/validation)") as record:
            record["triples"] = _stream_build(config, added)
    else:
        with step("load") as record:
            dataset = build_module.load_dataset(config, added)
            record["triples"] = len(dataset)
        with step("reason") as record:
            inferred = reason(
                (
                    dataset.graph(iri)
                    for iri in build_module.graph_iris(dataset)
                    if graph_name(config.base_iri, str(iri)) != SHAPES_GRAPH
                ),
                reasoner=config.reasoner,
                into=dataset.graph(graph_iri(config.base_iri, INFERRED_GRAPH)),
            )
            record["triples"] = len(inferred)
        with step("validate") as record:
            report = build_module.validate_dataset(dataset, config.base_iri)
            record["triples"] = len(report.results)
            record["conforms"] = report.conforms
        with step("store") as record:
            write_store(
                build_module.store_quads(dataset, config.base_iri), config.store_path
            )
            record["triples"] = len(dataset)
        del dataset, inferred
    if dumps:
        with step("dumps") as record:
            store = EmbeddedStore.open(config.store_path)
            assert store.location is not None
            folder = dumps_folder(store.location)
            record["triples"] = len(write_dumps(store, folder, config.base_iri))
    else:
        notes.append("dumps skipped (--no-dumps or above the dumps size limit)")
    sampler.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"steps": steps, "peak_rss_mb": round(peak / 2**20), "notes": notes}


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
