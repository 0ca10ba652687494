"""China's discipline catalogue: one SKOS concept scheme per edition.

Source: data/sources/china-discipline-catalog/ (editions.csv, disciplines.csv). Every
row becomes a concept with its code as ``skos:notation``, its level class, its parent
as ``skos:broader``, and its citations and conflict notes as provenance. The counts an
edition states are attached to it (``mededkg:statedCount``), and so are the seed's
figures, to the seed as their source.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from rdflib import RDF, XSD, Graph, Literal, URIRef

from mededkg.importer.common import en, iri, read_csv, source, zh
from mededkg.namespaces import DCTERMS, MEDEDKG, PROV, SKOS

SLUG = "china-discipline-catalog"
SEED = "seed-academic-vs-professional-masters"

LEVEL_CLASS = {
    "category": MEDEDKG.DisciplineCategory,
    "first_level": MEDEDKG.FirstLevelDiscipline,
    "second_level": MEDEDKG.SecondLevelDiscipline,
    "professional_degree": MEDEDKG.ProfessionalDegreeCategory,
}
STATED = {
    "stated_categories": MEDEDKG.DisciplineCategory,
    "stated_first_level": MEDEDKG.FirstLevelDiscipline,
    "stated_second_level": MEDEDKG.SecondLevelDiscipline,
    "stated_prof_degree_doctoral": MEDEDKG.ProfessionalDegreeCategory,
    "stated_prof_degree_master": MEDEDKG.ProfessionalDegreeCategory,
}
#: The editions in order, for linking concepts that persist from one to the next.
ORDER = ("1997", "2011-2018", "2022")

#: The seed's figures (seeds/academic-vs-professional-masters.txt). The seed names no
#: edition: 13 categories matches 2011/2018, 88 first-level the 1990s catalogues.
SEED_FIGURES = (
    ("categories", MEDEDKG.DisciplineCategory, 13, "exactly"),
    ("first-level", MEDEDKG.FirstLevelDiscipline, 88, "exactly"),
    ("second-level", MEDEDKG.SecondLevelDiscipline, 300, "more than"),
    ("self-established-second-level", MEDEDKG.SecondLevelDiscipline, 760, "more than"),
)


def edition_iri(edition: str) -> URIRef:
    """The concept scheme of one catalogue edition."""
    return iri("discipline-catalogue", edition)


def discipline_iri(edition: str, code: str) -> URIRef:
    """The concept of one discipline code in one edition."""
    return iri("discipline", edition, code)


def build(folder: Path) -> Graph:
    """The catalogue graph from ``editions.csv`` and ``disciplines.csv`` in *folder*."""
    graph = Graph()
    src = source(SLUG)
    for row in read_csv(folder / "editions.csv"):
        _edition(graph, row, src)
    rows = read_csv(folder / "disciplines.csv")
    present = {(r["edition_id"], r["code"]) for r in rows}
    for row in rows:
        _concept(graph, row, src, present)
    _link_editions(graph, rows)
    _seed_figures(graph)
    return graph


def one_name(title: str) -> str:
    """A title as one label: a ";" inside it becomes "," (labels never hold ";",
    which ROR uses to join several names; the Chinese titles use "，" there). The
    source row keeps the title as written.

    >>> one_name("Catalogue (2011; updated April 2018)")
    'Catalogue (2011, updated April 2018)'
    """
    return title.replace(";", ",")


def _edition(graph: Graph, row: dict[str, str], src: URIRef) -> None:
    scheme = edition_iri(row["edition_id"])
    graph.add((scheme, RDF.type, SKOS.ConceptScheme))
    graph.add((scheme, RDF.type, MEDEDKG.CatalogueEdition))
    graph.add((scheme, SKOS.prefLabel, zh(row["title_zh"])))
    graph.add((scheme, SKOS.prefLabel, en(one_name(row["title_en"]))))
    graph.add((scheme, SKOS.notation, Literal(row["edition_id"])))
    graph.add(
        (scheme, DCTERMS.issued, Literal(row["year_published"], datatype=XSD.gYear))
    )
    graph.add((scheme, DCTERMS.source, src))
    if row["issuing_document"]:
        graph.add((scheme, DCTERMS.identifier, zh(row["issuing_document"])))
    if row["count_note"]:
        graph.add((scheme, SKOS.editorialNote, en(row["count_note"])))
    for url in _urls(row["source_urls"]):
        graph.add((scheme, PROV.wasDerivedFrom, URIRef(url)))
    for column, level in STATED.items():
        if row.get(column):
            count = iri("discipline-catalogue", row["edition_id"], "stated", column[7:])
            graph.add((scheme, MEDEDKG.statedCount, Literal(int(row[column]))))
            graph.add((count, RDF.type, MEDEDKG.StatedCount))
            graph.add((count, MEDEDKG.edition, scheme))
            graph.add((count, MEDEDKG.countsLevel, level))
            graph.add((count, MEDEDKG.statedCount, Literal(int(row[column]))))
            graph.add((count, MEDEDKG.countQualifier, Literal("exactly")))
            graph.add((count, SKOS.prefLabel, en(column[7:].replace("_", " "))))
            graph.add((count, DCTERMS.source, src))


def _concept(
    graph: Graph, row: dict[str, str], src: URIRef, present: set[tuple[str, str]]
) -> None:
    edition, code = row["edition_id"], row["code"]
    concept = discipline_iri(edition, code)
    scheme = edition_iri(edition)
    graph.add((concept, RDF.type, SKOS.Concept))
    graph.add((concept, RDF.type, LEVEL_CLASS[row["level"]]))
    graph.add((concept, SKOS.prefLabel, zh(row["name_zh"])))
    if row["name_en"]:
        graph.add((concept, SKOS.prefLabel, en(row["name_en"])))
    graph.add((concept, SKOS.notation, Literal(code)))
    graph.add((concept, SKOS.inScheme, scheme))
    graph.add((concept, DCTERMS.source, src))
    graph.add((concept, DCTERMS.bibliographicCitation, Literal(row["source_url"])))
    if row["parent_code"]:
        parent = discipline_iri(edition, row["parent_code"])
        assert (edition, row["parent_code"]) in present, (edition, code)
        graph.add((concept, SKOS.broader, parent))
    else:
        graph.add((concept, SKOS.topConceptOf, scheme))
    if row["degree_note"]:
        graph.add((concept, SKOS.scopeNote, zh(row["degree_note"])))
    if row["conflict_note"]:
        graph.add((concept, SKOS.editorialNote, en(row["conflict_note"])))
    if row["single_source"] == "yes":
        graph.add(
            (concept, SKOS.editorialNote, en(f"single source: {row['source_ids']}"))
        )
    if row["traditional_normalised"] == "yes":
        graph.add(
            (
                concept,
                SKOS.editorialNote,
                en("name normalised from traditional to simplified characters"),
            )
        )


def _link_editions(graph: Graph, rows: list[dict[str, str]]) -> None:
    """Link codes whose name persists into the next edition (skos:exactMatch)."""
    names = {(r["edition_id"], r["code"]): r["name_zh"] for r in rows}
    for older, newer in itertools.pairwise(ORDER):
        for (edition, code), name in sorted(names.items()):
            if edition == older and names.get((newer, code)) == name:
                graph.add(
                    (
                        discipline_iri(older, code),
                        SKOS.exactMatch,
                        discipline_iri(newer, code),
                    )
                )


def _seed_figures(graph: Graph) -> None:
    for slug, level, count, qualifier in SEED_FIGURES:
        node = iri("discipline-catalogue", "seed-figures", slug)
        graph.add((node, RDF.type, MEDEDKG.StatedCount))
        graph.add((node, MEDEDKG.countsLevel, level))
        graph.add((node, MEDEDKG.statedCount, Literal(count)))
        graph.add((node, MEDEDKG.countQualifier, Literal(qualifier)))
        graph.add(
            (node, SKOS.prefLabel, en(f"{slug.replace('-', ' ')} (as the seed states)"))
        )
        graph.add((node, DCTERMS.source, source(SEED)))
        graph.add(
            (
                node,
                SKOS.editorialNote,
                en(
                    "The seed names no catalogue edition. 13 categories matches "
                    "the 2011/2018 edition; 88 first-level disciplines matches "
                    "neither 2011 (110) nor 2022 (117) but the 1990s catalogues "
                    "(89 stated for 1997 as amended)."
                ),
            )
        )


def _urls(text: str) -> list[str]:
    return sorted(u.strip() for u in text.split("|") if u.strip().startswith("http"))
