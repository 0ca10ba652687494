"""Researchers' own programme offerings: a documented CSV template → triples.

No source lists institution-level programmes yet, so MedEdKG ships none; this turns a
researcher's CSV (``data/templates/programmes.csv`` documents the columns) into a Turtle
file for its own named graph, validated by the shapes at the next build.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

from mededkg.errors import LoadError
from mededkg.importer.common import en, iri, zh
from mededkg.importer.disciplines import discipline_iri
from mededkg.importer.institutions import institution_iri, organization_iri
from mededkg.namespaces import DCTERMS, MEDEDKG

COLUMNS = (
    "institution",
    "programme_kind",
    "discipline_code",
    "catalogue_edition",
    "degree_type",
    "start_year",
    "source_url",
    "label_zh",
    "label_en",
    "note",
)
KINDS = {
    "clinical-medicine": MEDEDKG.ClinicalMedicine,
    "basic-medicine": MEDEDKG.BasicMedicine,
    "pharmacy": MEDEDKG.Pharmacy,
    "nursing": MEDEDKG.Nursing,
}
EDITIONS = ("1997", "2011-2018", "2022")


def programme_iri(row: dict[str, str]) -> URIRef:
    """A stable IRI from the row's identifying columns."""
    key = "|".join(
        row[c]
        for c in (
            "institution",
            "discipline_code",
            "catalogue_edition",
            "degree_type",
            "start_year",
        )
    )
    return iri("programme", hashlib.sha1(key.encode()).hexdigest()[:12])


def build(csv_path: Path) -> Graph:
    """Triples for every row of a programme CSV.

    Raises:
        LoadError: naming the file and line of a row that breaks the template.
    """
    try:
        with csv_path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            rows = list(reader)
    except UnicodeDecodeError as error:
        raise LoadError(
            csv_path,
            f"not UTF-8 ({error.reason} at byte {error.start}); save it as UTF-8",
        ) from error
    except (OSError, csv.Error) as error:
        raise LoadError(csv_path, str(error)) from error
    missing = ", ".join(c for c in COLUMNS if c not in header)
    if missing:
        raise LoadError(
            csv_path,
            f"missing column(s): {missing}; start from data/templates/programmes.csv",
            line=1,
        )
    if not rows:
        raise LoadError(csv_path, "no programme rows below the header", line=2)
    graph = Graph()
    for line, row in enumerate(rows, start=2):
        _row(graph, row, csv_path, line)
    return graph


def _row(graph: Graph, row: dict[str, str], path: Path, line: int) -> None:
    def fail(message: str) -> LoadError:
        return LoadError(path, message, line=line)

    if row["programme_kind"] not in KINDS:
        raise fail(
            f"programme_kind {row['programme_kind']!r}: use one of {', '.join(KINDS)}"
        )
    if row["catalogue_edition"] not in EDITIONS:
        raise fail(f"catalogue_edition must be one of {', '.join(EDITIONS)}")
    if not re.fullmatch(r"\d{2}(\d{2}){0,2}", row["discipline_code"]):
        raise fail("discipline_code must have 2, 4 or 6 digits")
    if not row["source_url"].startswith(("http://", "https://")):
        raise fail(
            "source_url must be an http(s) URL: every programme needs its source"
        )
    subject = programme_iri(row)
    institution = row["institution"]
    if re.fullmatch(r"\d{10}", institution):
        offered_by = institution_iri(institution)
    elif re.fullmatch(r"0[a-hj-km-np-tv-z0-9]{6}\d{2}", institution):
        offered_by = organization_iri(institution)
    else:
        raise fail("institution must be a 10-digit MOE code or a ROR id (0xxxxxxNN)")
    graph.add((subject, RDF.type, MEDEDKG.Programme))
    graph.add((subject, MEDEDKG.offeredBy, offered_by))
    graph.add((subject, MEDEDKG.programmeKind, KINDS[row["programme_kind"]]))
    graph.add(
        (
            subject,
            MEDEDKG.inDiscipline,
            discipline_iri(row["catalogue_edition"], row["discipline_code"]),
        )
    )
    if row["degree_type"]:
        graph.add(
            (subject, MEDEDKG.awardsDegree, iri("degree-type", row["degree_type"]))
        )
    if row["start_year"]:
        if not re.fullmatch(r"\d{4}", row["start_year"]):
            raise fail("start_year must be a year such as 2021")
        graph.add(
            (subject, MEDEDKG.startYear, Literal(row["start_year"], datatype=XSD.gYear))
        )
    if row["label_zh"]:
        graph.add((subject, RDFS.label, zh(row["label_zh"])))
    if row["label_en"]:
        graph.add((subject, RDFS.label, en(row["label_en"])))
    if row["note"]:
        graph.add((subject, RDFS.comment, Literal(row["note"])))
    graph.add((subject, DCTERMS.source, URIRef(row["source_url"])))
