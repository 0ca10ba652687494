"""SSSOM mapping sets: read the TSV form and turn each mapping into RDF.

A mapping becomes the SKOS (or OWL) triple it states, plus an ``owl:Axiom`` that
annotates that triple with the SSSOM metadata (justification, confidence, author, date,
tool), following SSSOM's own RDF representation, so a query can ask *how* two things
were linked.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef

from mededkg.errors import LoadError
from mededkg.namespaces import DCTERMS, PREFIXES, SSSOM

PAV = Namespace("http://purl.org/pav/")

#: The columns MedEdKG writes, in order (a subset of the SSSOM mapping slots).
COLUMNS = (
    "subject_id",
    "subject_label",
    "predicate_id",
    "object_id",
    "object_label",
    "mapping_justification",
    "confidence",
    "author_label",
    "mapping_date",
    "mapping_tool",
    "mapping_tool_version",
    "comment",
)


@dataclass(frozen=True)
class MappingSet:
    """The metadata block and the rows of one SSSOM TSV file."""

    metadata: dict[str, str]
    curie_map: dict[str, str]
    rows: tuple[dict[str, str], ...]


def read_sssom(path: Path) -> MappingSet:
    """Read an SSSOM TSV file (``#``-prefixed YAML-like header, then a TSV table).

    Only the flat header forms MedEdKG writes are understood: ``key: value`` lines and a
    ``curie_map:`` block of ``  prefix: IRI`` lines.

    Raises:
        LoadError: naming the file and line of a malformed header or row.
    """
    text = path.read_text(encoding="utf-8")
    metadata: dict[str, str] = {}
    curie_map: dict[str, str] = {}
    table: list[str] = []
    in_map = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            table.append(line)
            continue
        body = line[1:]
        if not body.strip():
            continue
        if body.startswith("  ") and in_map:
            key, sep, value = body.strip().partition(":")
            if not sep:
                raise LoadError(
                    path, f"bad curie_map entry {body.strip()!r}", line=number
                )
            curie_map[key.strip()] = value.strip().strip("\"'")
            continue
        key, sep, value = body.partition(":")
        if not sep:
            raise LoadError(path, f"bad header line {body!r}", line=number)
        in_map = key.strip() == "curie_map" and not value.strip()
        if not in_map:
            metadata[key.strip()] = value.strip().strip("\"'")
    reader = csv.DictReader(io.StringIO("\n".join(table)), delimiter="\t")
    rows = []
    for row in reader:
        if None in row or any(v is None for v in row.values()):
            raise LoadError(
                path, "row has the wrong number of columns", line=reader.line_num
            )
        rows.append({k: v for k, v in row.items() if k})
    for required in (
        "subject_id",
        "predicate_id",
        "object_id",
        "mapping_justification",
    ):
        if reader.fieldnames is None or required not in reader.fieldnames:
            raise LoadError(path, f"missing SSSOM column {required!r}")
    return MappingSet(metadata, curie_map, tuple(rows))


def expand(curie: str, curie_map: dict[str, str]) -> URIRef:
    """Expand a CURIE with the file's curie_map, then the project prefixes.

    >>> expand("skos:exactMatch", {})
    rdflib.term.URIRef('http://www.w3.org/2004/02/skos/core#exactMatch')
    """
    if curie.startswith(("http://", "https://")):
        return URIRef(curie)
    prefix, sep, local = curie.partition(":")
    namespace = curie_map.get(prefix) or PREFIXES.get(prefix)
    if not sep or namespace is None:
        raise ValueError(f"unknown prefix in CURIE {curie!r}")
    return URIRef(namespace + local)


def sssom_to_graph(path: Path) -> Graph:
    """Read an SSSOM TSV file into RDF: mapping triples and their annotated axioms.

    Raises:
        LoadError: for a malformed file or an unknown CURIE prefix.
    """
    mapping_set = read_sssom(path)
    graph = Graph()
    set_iri = URIRef(
        mapping_set.metadata.get("mapping_set_id", path.resolve().as_uri())
    )
    graph.add((set_iri, RDF.type, SSSOM.MappingSet))
    for key in ("license", "mapping_set_description", "mapping_set_version"):
        if key in mapping_set.metadata:
            value = mapping_set.metadata[key]
            obj = URIRef(value) if value.startswith("http") else Literal(value)
            graph.add((set_iri, SSSOM[key], obj))
    for number, row in enumerate(mapping_set.rows, start=2):
        if row.get("predicate_modifier", "").strip().lower() == "not":
            # A curator's negated mapping ("these are NOT the same") states no link.
            continue
        try:
            subject = expand(row["subject_id"], mapping_set.curie_map)
            predicate = expand(row["predicate_id"], mapping_set.curie_map)
            obj = expand(row["object_id"], mapping_set.curie_map)
            justification = expand(row["mapping_justification"], mapping_set.curie_map)
        except ValueError as error:
            raise LoadError(path, str(error), line=number) from error
        graph.add((subject, predicate, obj))
        digest = hashlib.sha1(f"{subject} {predicate} {obj}".encode()).hexdigest()[:16]
        axiom = URIRef(f"{set_iri}#mapping-{digest}")
        graph.add((axiom, RDF.type, OWL.Axiom))
        graph.add((axiom, OWL.annotatedSource, subject))
        graph.add((axiom, OWL.annotatedProperty, predicate))
        graph.add((axiom, OWL.annotatedTarget, obj))
        graph.add((axiom, SSSOM.mapping_justification, justification))
        graph.add((axiom, DCTERMS.isPartOf, set_iri))
        if row.get("confidence"):
            graph.add(
                (
                    axiom,
                    SSSOM.confidence,
                    Literal(row["confidence"], datatype=XSD.double),
                )
            )
        if row.get("author_label"):
            graph.add((axiom, SSSOM.author_label, Literal(row["author_label"])))
        if row.get("mapping_date"):
            graph.add(
                (
                    axiom,
                    SSSOM.mapping_date,
                    Literal(row["mapping_date"], datatype=XSD.date),
                )
            )
        if row.get("mapping_tool"):
            graph.add((axiom, SSSOM.mapping_tool, Literal(row["mapping_tool"])))
        for slot in ("mapping_tool_version", "reviewer_label"):
            if row.get(slot):
                graph.add((axiom, SSSOM[slot], Literal(row[slot])))
        if row.get("comment"):
            graph.add((axiom, RDFS.comment, Literal(row["comment"])))
    return graph


def write_sssom(
    metadata: dict[str, str],
    curie_map: dict[str, str],
    rows: list[dict[str, str]],
    *,
    columns: tuple[str, ...] = COLUMNS,
) -> str:
    """Return the SSSOM TSV text for *rows* (sorted; same input, same bytes).

    *columns* are the table's columns, in order (default :data:`COLUMNS`).
    """
    lines = [f"#{key}: {value}" for key, value in metadata.items()]
    lines.append("#curie_map:")
    lines += [f"#  {prefix}: {iri}" for prefix, iri in sorted(curie_map.items())]
    ordered = sorted(
        rows, key=lambda r: (r["subject_id"], r["predicate_id"], r["object_id"])
    )
    return "\n".join(lines) + "\n" + tsv_table(columns, ordered)


def tsv_table(columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> str:
    """A TSV table: the header, then one line per row in the given order (missing
    cells empty, other keys ignored). The table of an SSSOM file, and of the linker's
    review file."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out,
        fieldnames=columns,
        delimiter="\t",
        lineterminator="\n",
        extrasaction="ignore",
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue()
