"""``mededkg import``: generate the Turtle in ``data/`` from the sources in
``data/sources/`` (and the accepted links of ``mededkg link`` in ``data/links/``). Same
inputs → byte-identical files.

One file (and so one named graph) per source: ``institutions.ttl`` (MOE list),
``ror.ttl`` (ROR facts), ``hospitals.ttl`` (hospitals, units, ties and their evidence),
``hipo.ttl`` (names of the Hipo records the linker matched), ``disciplines.ttl``,
``isced.ttl``, ``sources.ttl``; plus ``links/ror-wikidata.sssom.tsv`` and the reports of
what did not join in ``reports/``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from rdflib import RDFS, URIRef

from mededkg.importer import (
    disciplines,
    hipo,
    hospitals,
    institutions,
    isced,
    links,
    places,
    programmes,
    sources,
)
from mededkg.importer.common import GENERATED, write_graph
from mededkg.importer.ror import read_records
from mededkg.matching import gazetteer
from mededkg.namespaces import MEDEDKG, SKOS
from mededkg.pipeline.export import write_atomically


def import_all(
    sources_dir: Path, out_dir: Path, links_dir: Path | None = None
) -> list[Path]:
    """Regenerate every generated file of *out_dir* (``data/``) from *sources_dir*,
    joining institutions to ROR and Hipo also through the accepted links in
    *links_dir* (default: ``out_dir/links``; none if it does not exist).

    Returns:
        The files written, sorted.
    """
    written: list[Path] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    links_dir = links_dir if links_dir is not None else out_dir / "links"

    def header(module: str, source: str) -> str:
        return GENERATED.format(module=module, source=source)

    moe_dir, ror_dir = sources_dir / "china-heis-moe", sources_dir / "ror-china"
    rows = institutions.read_rows(moe_dir)
    records = read_records(ror_dir)
    result = institutions.join(rows, records, institutions.linked_records(links_dir))
    found = hospitals.find(records, rows, result)
    moe = institutions.moe_graph(rows)
    has_province = {
        str(s).rsplit("/", 1)[-1] for s in moe.subjects(MEDEDKG.province, None)
    }
    ror = hospitals.ror_graph(records, rows, result, found, has_province)
    from_ror = {str(s).rsplit("/", 1)[-1] for s in ror.subjects(MEDEDKG.province, None)}
    own_point = {
        code
        for code, record in result.matched.items()
        if record.lat is not None and record.lng is not None
    }
    placed = places.city_points(rows, records, gazetteer.read(sources_dir), own_point)
    ror += places.points_graph(rows, placed)
    known: dict[str, set[str]] = {}
    for graph in (moe, ror):
        for s, p, o in graph.triples((None, None, None)):
            if p in (RDFS.label, SKOS.altLabel) and isinstance(s, URIRef):
                known.setdefault(str(s), set()).add(str(o))
    written += [
        write_graph(
            moe,
            out_dir / "institutions.ttl",
            header("mededkg.importer.institutions", "china-heis-moe"),
        ),
        write_graph(
            ror, out_dir / "ror.ttl", header("mededkg.importer.hospitals", "ror-china")
        ),
        write_graph(
            hospitals.hospitals_graph(found, rows),
            out_dir / "hospitals.ttl",
            header("mededkg.importer.hospitals", "ror-china"),
        ),
        write_graph(
            hipo.names_graph(sources_dir / "hipo-universities", links_dir, known),
            out_dir / "hipo.ttl",
            header("mededkg.importer.hipo", "hipo-universities"),
        ),
        write_graph(
            disciplines.build(sources_dir / "china-discipline-catalog"),
            out_dir / "disciplines.ttl",
            header("mededkg.importer.disciplines", "china-discipline-catalog"),
        ),
        write_graph(
            isced.build(sources_dir / "isced"),
            out_dir / "isced.ttl",
            header("mededkg.importer.isced", "isced"),
        ),
        write_graph(
            sources.build(),
            out_dir / "sources.ttl",
            header("mededkg.importer.sources", "*"),
        ),
    ]
    link_file = out_dir / "links" / "ror-wikidata.sssom.tsv"
    link_file.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(
        link_file, links.sssom_text(links.mapping_rows(result, found)).encode()
    )
    reports = out_dir / "reports"
    written += [
        _report(
            reports / "ror-join-unmatched.csv",
            ["moe_code", "name_zh", "reason"],
            result.unmatched,
        ),
        _report(
            reports / "ror-healthcare-not-hospitals.csv",
            ["ror_id", "name", "reason"],
            found.not_hospitals,
        ),
        _report(
            reports / "hospitals-untied.csv",
            ["ror_id", "name", "relationships"],
            found.untied,
        ),
        _report(
            reports / "hospital-ties-outside.csv",
            ["ror_id", "name", "relation", "other"],
            sorted(set(found.outside)),
        ),
        _report(
            reports / "institutions-without-point.csv",
            ["moe_code", "name_zh", "location", "reason"],
            placed.missing,
        ),
        _report(
            reports / "institutions-without-province.csv",
            ["moe_code", "name_zh", "authority", "location"],
            [
                (r["moe_code"], r["name_zh"], r["authority"], r["location"])
                for r in rows
                if r["moe_code"] not in has_province | from_ror
            ],
        ),
    ]
    return sorted([*written, link_file])


def _report(path: Path, header: list[str], rows: Sequence[Sequence[str]]) -> Path:
    """Write a CSV report (header, then *rows* in the order given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_atomically(path, buffer.getvalue().encode())
    return path


def import_programmes(csv_path: Path, out_path: Path) -> Path:
    """Turn a researcher's programme CSV into a Turtle file for its own named graph."""
    header = (
        f"# Generated by `mededkg import programmes` from {csv_path.name}.\n"
        "# Load it with `mededkg build --add` (graph add/<stem>) or put it in data/.\n"
    )
    return write_graph(programmes.build(csv_path), out_path, header)
