"""Each SHACL shape catches a crafted bad instance with its own message; the shapes
graph conforms to SHACL-for-SHACL; the real data has no violation."""

from __future__ import annotations

from importlib import resources as importlib_resources

import pytest
from pyshacl import validate as pyshacl_validate
from rdflib import Graph

from mededkg.pipeline.validate import validate
from mededkg.resources import default_root, ontology_dir, shapes_dir

PREFIXES = """
@prefix mededkg: <https://w3id.org/mededkg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix sssom: <https://w3id.org/sssom/> .
@prefix semapv: <https://w3id.org/semapv/vocab/> .
@prefix ex: <https://w3id.org/mededkg/id/test/> .
@prefix src: <https://w3id.org/mededkg/id/source/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix geo: <http://www.opengis.net/ont/geosparql#> .
"""
# A valid institution, catalogue edition and category that the cases can refer to.
CONTEXT = """
ex:inst a mededkg:HigherEducationInstitution , mededkg:MedicalUniversity ;
    rdfs:label "首都医科大学"@zh , "Capital Medical University"@en ;
    mededkg:moeCode "4111010025" ; mededkg:educationLevel "本科" ;
    mededkg:supervisingAuthority ex:gov ; prov:wasDerivedFrom src:china-heis-moe ;
    mededkg:province "北京市"@zh ; mededkg:provinceEvidence ex:where ;
    mededkg:medicalEducationEvidence ex:why ; dcterms:source src:china-heis-moe .
ex:gov a mededkg:GovernmentBody ; rdfs:label "北京市"@zh ; dcterms:source src:china-heis-moe .
ex:why a mededkg:Evidence ; mededkg:evidenceRule mededkg:MedicalNameRule ;
    prov:wasDerivedFrom src:china-heis-moe ; skos:note "the name says medicine"@en ;
    dcterms:source src:china-heis-moe .
ex:where a mededkg:Evidence ; mededkg:evidenceRule mededkg:ProvinceFromAuthorityRule ;
    prov:wasDerivedFrom src:china-heis-moe ; skos:note "from the authority"@en ;
    dcterms:source src:china-heis-moe .
ex:h0 a mededkg:Hospital ; rdfs:label "Beijing Tian Tan Hospital"@en ; mededkg:rorId "003regz62" ;
    mededkg:worksWith ex:inst ; dcterms:source src:ror-china .
ex:ed a mededkg:CatalogueEdition , skos:ConceptScheme ; skos:prefLabel "目录"@zh ;
    skos:notation "2022" ; dcterms:source src:china-discipline-catalog .
ex:cat a mededkg:DisciplineCategory , skos:Concept ; skos:prefLabel "医学"@zh ;
    skos:notation "10" ; skos:inScheme ex:ed ; dcterms:source src:china-discipline-catalog .
ex:first a mededkg:FirstLevelDiscipline , skos:Concept ; skos:prefLabel "临床医学"@zh ;
    skos:notation "1002" ; skos:inScheme ex:ed ; skos:broader ex:cat ;
    dcterms:source src:china-discipline-catalog .
"""

CASES = [
    (
        "geometry-not-a-crs84-point",
        'ex:g a geo:Geometry ; geo:asWKT "POINT(116.4, 39.9)"^^geo:wktLiteral ;'
        " mededkg:spatialLevel mededkg:CityLevel ; prov:wasDerivedFrom src:ror-china .",
        "ex:g",
        "one WKT point (longitude latitude",
    ),
    (
        "geometry-without-spatial-level",
        'ex:g a geo:Geometry ; geo:asWKT "POINT(116.4 39.9)"^^geo:wktLiteral ;'
        " prov:wasDerivedFrom src:ror-china .",
        "ex:g",
        "says what its coordinates locate",
    ),
    (
        "institution-with-two-geometries",
        "ex:inst geo:hasGeometry ex:g1 , ex:g2 ."
        ' ex:g1 a geo:Geometry ; geo:asWKT "POINT(1 2)"^^geo:wktLiteral ;'
        " mededkg:spatialLevel mededkg:CityLevel ; prov:wasDerivedFrom src:ror-china ."
        ' ex:g2 a geo:Geometry ; geo:asWKT "POINT(3 4)"^^geo:wktLiteral ;'
        " mededkg:spatialLevel mededkg:CityLevel ; prov:wasDerivedFrom src:ror-china .",
        "ex:inst",
        "At most one geometry",
    ),
    (
        "geometry-with-two-evidence-nodes",
        'ex:g a geo:Geometry ; geo:asWKT "POINT(116.4 39.9)"^^geo:wktLiteral ;'
        " mededkg:spatialLevel mededkg:CityLevel ; prov:wasDerivedFrom src:ror-china ;"
        " mededkg:geometryEvidence ex:where , ex:why .",
        "ex:g",
        "one evidence node (mededkg:Evidence) saying which rule took it",
    ),
    (
        "geometry-evidence-not-evidence",
        'ex:g a geo:Geometry ; geo:asWKT "POINT(116.4 39.9)"^^geo:wktLiteral ;'
        " mededkg:spatialLevel mededkg:CityLevel ; prov:wasDerivedFrom src:ror-china ;"
        " mededkg:geometryEvidence ex:gov .",
        "ex:g",
        "one evidence node (mededkg:Evidence) saying which rule took it",
    ),
    (
        "institution-moe-code",
        'ex:x a mededkg:MedicalUniversity ; rdfs:label "某医学院"@zh ; mededkg:moeCode "41110" ;'
        " dcterms:source src:china-heis-moe .",
        "ex:x",
        "exactly one MOE institution code of 10 digits",
    ),
    (
        "institution-no-source",
        'ex:x a mededkg:NursingCollege ; rdfs:label "某护理学院"@zh ; mededkg:moeCode "4111010099" .',
        "ex:x",
        "cites its source",
    ),
    (
        "institution-no-chinese-label",
        'ex:x a mededkg:HigherEducationInstitution ; rdfs:label "X"@en ;'
        ' mededkg:moeCode "4111010099" ; dcterms:source src:china-heis-moe .',
        "ex:x",
        "rdfs:label in Chinese",
    ),
    (
        "institution-no-row",
        'ex:x a mededkg:HigherEducationInstitution ; rdfs:label "某学院"@zh ;'
        ' mededkg:moeCode "4111010099" ; dcterms:source src:china-heis-moe .',
        "ex:x",
        "row of the MOE list",
    ),
    (
        "medical-institution-without-evidence",
        'ex:x a mededkg:MedicalEducationInstitution ; rdfs:label "四川大学"@zh ;'
        ' mededkg:province "四川省"@zh ; dcterms:source src:china-heis-moe .',
        "ex:x",
        "on which evidence",
    ),
    (
        "medical-institution-without-province",
        'ex:x a mededkg:MedicalEducationInstitution ; rdfs:label "北京协和医学院"@zh ;'
        " mededkg:medicalEducationEvidence ex:why ; dcterms:source src:china-heis-moe .",
        "ex:x",
        "exactly one province in Chinese",
    ),
    (
        "label-with-several-names",
        'ex:inst skos:altLabel "复旦大学;復旦大學" .',
        "ex:inst",
        "one name without noise",
    ),
    (
        "preferred-label-with-several-names",
        'ex:inst skos:prefLabel "首都医科大学；北京第二医学院"@zh .',
        "ex:inst",
        "one name without noise",
    ),
    (
        "label-with-copyright-notice",
        'ex:h0 rdfs:label "版权所有 运城市中心医院"@zh .',
        "ex:h0",
        "one name without noise",
    ),
    (
        "evidence-without-rule",
        'ex:e a mededkg:Evidence ; prov:wasDerivedFrom src:ror-china ; skos:note "x"@en ;'
        " dcterms:source src:ror-china .",
        "ex:e",
        "exactly one documented rule",
    ),
    (
        "evidence-rule-not-a-rule",
        "ex:why mededkg:evidenceRule mededkg:Hospital .",
        "ex:why",
        "exactly one documented rule",
    ),
    (
        "evidence-without-origin",
        "ex:e a mededkg:Evidence ; mededkg:evidenceRule mededkg:RorRelatedRule ;"
        ' skos:note "x"@en ; dcterms:source src:ror-china .',
        "ex:e",
        "source rows or records",
    ),
    (
        "evidence-via-two",
        "ex:why mededkg:via ex:h0 , ex:inst .",
        "ex:why",
        "at most one hospital or unit",
    ),
    (
        "unit-not-part-of-an-institution",
        'ex:u a mededkg:UniversityMedicalSchool ; rdfs:label "Some Medical College"@en ;'
        ' mededkg:rorId "01zntxs11" ; mededkg:province "上海市"@zh ;'
        " mededkg:medicalEducationEvidence ex:why ; dcterms:source src:ror-china .",
        "ex:u",
        "part of an institution of the MOE list",
    ),
    (
        "institution-bad-ror",
        'ex:inst mededkg:rorId "https://ror.org/013xs5b60" .',
        "ex:inst",
        "ROR's pattern",
    ),
    (
        "institution-bad-wikidata",
        'ex:inst mededkg:wikidataId "5035687" .',
        "ex:inst",
        "Wikidata id",
    ),
    (
        "institution-bad-year",
        'ex:inst mededkg:foundingYear "1960" .',
        "ex:inst",
        "xsd:gYear",
    ),
    (
        "institution-bad-level",
        'ex:inst mededkg:educationLevel "研究生" .',
        "ex:inst",
        "本科 or 专科",
    ),
    (
        "institution-authority-not-government",
        "ex:inst mededkg:supervisingAuthority ex:first .",
        "ex:inst",
        "GovernmentBody",
    ),
    (
        "hospital-affiliated-with-a-discipline",
        'ex:h a mededkg:Hospital ; rdfs:label "H"@en ; mededkg:rorId "013xs5b60" ;'
        " mededkg:affiliatedWith ex:first ; dcterms:source src:ror-china .",
        "ex:h",
        "affiliated with medical education institutions of the graph only",
    ),
    (
        "hospital-works-with-a-discipline",
        "ex:h0 mededkg:worksWith ex:first .",
        "ex:h0",
        "works with medical education institutions of the graph only",
    ),
    (
        "hospital-without-ror",
        'ex:h a mededkg:Hospital ; rdfs:label "H"@en ; mededkg:affiliatedWith ex:inst ;'
        " dcterms:source src:ror-china .",
        "ex:h",
        "exactly one ROR id",
    ),
    (
        "hospital-without-english-label",
        'ex:h a mededkg:Hospital ; rdfs:label "医院"@zh ; mededkg:rorId "013xs5b60" ;'
        " mededkg:affiliatedWith ex:inst ; dcterms:source src:ror-china .",
        "ex:h",
        "rdfs:label in English",
    ),
    (
        "government-body-label",
        'ex:g a mededkg:GovernmentBody ; rdfs:label "MOE" ; dcterms:source src:china-heis-moe .',
        "ex:g",
        "language tag",
    ),
    (
        "discipline-bad-notation",
        'ex:d a mededkg:FirstLevelDiscipline , skos:Concept ; skos:prefLabel "药学"@zh ;'
        ' skos:notation "107" ; skos:inScheme ex:ed ; skos:broader ex:cat ;'
        " dcterms:source src:china-discipline-catalog .",
        "ex:d",
        "first-level discipline code has 4 digits",
    ),
    (
        "discipline-two-notations",
        'ex:first skos:notation "1003" .',
        "ex:first",
        "exactly one code",
    ),
    (
        "category-with-broader",
        "ex:cat skos:broader ex:first .",
        "ex:cat",
        "top concept",
    ),
    (
        "second-level-under-category",
        'ex:s a mededkg:SecondLevelDiscipline , skos:Concept ; skos:prefLabel "内科学"@zh ;'
        ' skos:notation "100201" ; skos:inScheme ex:ed ; skos:broader ex:cat ;'
        " dcterms:source src:china-discipline-catalog .",
        "ex:s",
        "under a first-level discipline",
    ),
    (
        "professional-degree-code",
        'ex:p a mededkg:ProfessionalDegreeCategory , skos:Concept ; skos:prefLabel "临床医学"@zh ;'
        ' skos:notation "1002" ; skos:inScheme ex:ed ; skos:broader ex:cat ;'
        " dcterms:source src:china-discipline-catalog .",
        "ex:p",
        "third 5 or more",
    ),
    (
        "discipline-no-chinese-name",
        'ex:d a mededkg:DisciplineCategory , skos:Concept ; skos:prefLabel "Medicine"@en ;'
        ' skos:notation "11" ; skos:inScheme ex:ed ; dcterms:source src:china-discipline-catalog .',
        "ex:d",
        "Chinese name",
    ),
    (
        "concept-without-scheme",
        'ex:c a skos:Concept ; skos:prefLabel "Health"@en ; skos:notation "091" ;'
        " dcterms:source src:isced .",
        "ex:c",
        "exactly one concept scheme",
    ),
    ("edition-bad-notation", 'ex:ed skos:notation "v5" .', "ex:ed", "edition code"),
    (
        "scheme-without-label",
        "ex:sc a skos:ConceptScheme ; dcterms:source src:isced .",
        "ex:sc",
        "concept scheme has a skos:prefLabel",
    ),
    (
        "stated-count-negative",
        "ex:n a mededkg:StatedCount ; mededkg:statedCount -1 ;"
        ' mededkg:countsLevel mededkg:FirstLevelDiscipline ; mededkg:countQualifier "exactly" ;'
        " dcterms:source src:china-discipline-catalog .",
        "ex:n",
        "non-negative",
    ),
    (
        "stated-count-qualifier",
        "ex:n a mededkg:StatedCount ; mededkg:statedCount 88 ;"
        ' mededkg:countsLevel mededkg:FirstLevelDiscipline ; mededkg:countQualifier "about" ;'
        " dcterms:source src:china-discipline-catalog .",
        "ex:n",
        "exact or a lower bound",
    ),
    (
        "degree-two-orientations",
        'ex:dg a mededkg:DegreeType ; rdfs:label "学位"@zh , "degree"@en ;'
        " mededkg:degreeLevel mededkg:MasterLevel ;"
        " mededkg:orientation mededkg:Academic , mededkg:Professional ;"
        " dcterms:source src:seed-academic-vs-professional-masters .",
        "ex:dg",
        "either academic or professional",
    ),
    (
        "degree-negative-duration",
        'ex:dg a mededkg:DegreeType ; rdfs:label "学位"@zh , "degree"@en ;'
        " mededkg:degreeLevel mededkg:MasterLevel ; mededkg:orientation mededkg:Academic ;"
        " mededkg:durationYears -3.0 ; dcterms:source src:seed-academic-vs-professional-masters .",
        "ex:dg",
        "positive number of years",
    ),
    (
        "programme-unknown-institution",
        "ex:pr a mededkg:Programme ; mededkg:offeredBy ex:nobody ; mededkg:inDiscipline ex:first ;"
        " mededkg:programmeKind mededkg:ClinicalMedicine ; dcterms:source <https://example.org/> .",
        "ex:pr",
        "offered by exactly one medical education institution",
    ),
    (
        "programme-without-discipline",
        "ex:pr a mededkg:Programme ; mededkg:offeredBy ex:inst ;"
        " mededkg:programmeKind mededkg:ClinicalMedicine ; dcterms:source <https://example.org/> .",
        "ex:pr",
        "filed under exactly one discipline",
    ),
    (
        "programme-bad-kind",
        "ex:pr a mededkg:Programme ; mededkg:offeredBy ex:inst ; mededkg:inDiscipline ex:first ;"
        " mededkg:programmeKind ex:first ; dcterms:source <https://example.org/> .",
        "ex:pr",
        "exactly one programme kind",
    ),
    ("dataset-without-title", "ex:ds a dcat:Dataset .", "ex:ds", "dcterms:title"),
    (
        "mapping-bad-justification",
        "ex:m a owl:Axiom ; owl:annotatedSource ex:first ; owl:annotatedProperty skos:closeMatch ;"
        " owl:annotatedTarget ex:cat ; sssom:mapping_justification semapv:Guesswork .",
        "ex:m",
        "SEMAPV justification",
    ),
    (
        "mapping-bad-predicate",
        "ex:m a owl:Axiom ; owl:annotatedSource ex:first ; owl:annotatedProperty owl:sameAs ;"
        " owl:annotatedTarget ex:cat ; sssom:mapping_justification semapv:LexicalMatching .",
        "ex:m",
        "SKOS mapping properties",
    ),
    (
        "mapping-bad-modifier",
        "ex:m a owl:Axiom ; owl:annotatedSource ex:first ; owl:annotatedProperty skos:closeMatch ;"
        " owl:annotatedTarget ex:cat ; sssom:mapping_justification semapv:LexicalMatching ;"
        ' sssom:predicate_modifier "Not" .',
        "ex:m",
        "predicate modifier",
    ),
    (
        "mapping-set-without-licence",
        'ex:ms a sssom:MappingSet ; dcterms:description "links" .',
        "ex:ms",
        "exactly one licence",
    ),
]


@pytest.fixture(scope="module")
def shapes() -> Graph:
    graph = Graph()
    for path in sorted(shapes_dir(default_root()).glob("*.ttl")):
        graph.parse(path)
    return graph


@pytest.fixture(scope="module")
def ontology() -> Graph:
    graph = Graph()
    for path in sorted(ontology_dir(default_root()).glob("*.ttl")):
        graph.parse(path)
    return graph


def test_context_alone_conforms(shapes: Graph, ontology: Graph) -> None:
    data = Graph().parse(data=PREFIXES + CONTEXT, format="turtle")
    report = validate([data], shapes, ontology)
    assert report.conforms, report.text()


@pytest.mark.parametrize(
    ("case", "turtle", "focus", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_shape_catches_bad_instance(
    shapes: Graph, ontology: Graph, case: str, turtle: str, focus: str, message: str
) -> None:
    data = Graph().parse(data=PREFIXES + CONTEXT + turtle, format="turtle")
    report = validate([data], shapes, ontology)
    expected_focus = "https://w3id.org/mededkg/id/test/" + focus.split(":", 1)[1]
    hits = [
        r
        for r in report.violations
        if r.focus_node == expected_focus and message in r.message
    ]
    assert hits, report.text()


def test_every_data_class_has_a_node_shape(shapes: Graph) -> None:
    from rdflib import RDF, URIRef

    from mededkg.pipeline.load import project_sources

    data = Graph()
    for source in project_sources(default_root()):
        if source.graph not in ("ontology", "shapes", "links"):
            data.parse(source.path)
    used = set(data.objects(None, RDF.type))
    sh = "http://www.w3.org/ns/shacl#"
    targeted = set(shapes.objects(None, URIRef(sh + "targetClass")))
    ontology = Graph()
    for path in sorted(ontology_dir(default_root()).glob("*.ttl")):
        ontology.parse(path)
    sub = URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf")
    untargeted = {
        c
        for c in used
        if c not in targeted
        and not any(s in targeted for s in ontology.transitive_objects(c, sub))
    }
    assert not untargeted


def test_shapes_conform_to_shacl_for_shacl(shapes: Graph) -> None:
    shacl_shacl = Graph().parse(
        str(importlib_resources.files("pyshacl") / "assets" / "shacl-shacl.ttl")
    )
    conforms, _, text = pyshacl_validate(shapes, shacl_graph=shacl_shacl)
    assert conforms, text


def test_every_property_shape_has_message_and_severity(shapes: Graph) -> None:
    from rdflib import URIRef

    sh = "http://www.w3.org/ns/shacl#"
    property_shapes = set(shapes.objects(None, URIRef(sh + "property"))) | set(
        shapes.subjects(
            URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            URIRef(sh + "PropertyShape"),
        )
    )
    assert property_shapes
    for shape in property_shapes:
        assert shapes.value(shape, URIRef(sh + "message")) is not None, shape
        assert shapes.value(shape, URIRef(sh + "severity")) is not None, shape
