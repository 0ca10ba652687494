"""The ontology's entailments land in the `inferred` graph of the real build: inverses,
transitive broader, subclass, domain/range, the hasValue restrictions behind CQ06/CQ08,
the someValuesFrom role classes, and the property chain behind CQ12."""

from __future__ import annotations

import pytest

from mededkg.query.gate import AskResult, Limits, execute
from mededkg.settings import Config
from mededkg.storage import EmbeddedStore, Store

ID = "https://w3id.org/mededkg/id/"
CAPITAL = f"<{ID}institution/4111010025>"
TIANTAN = f"<{ID}organization/ror-003regz62>"  # works with 首都医科大学 (ROR related)
TONGREN = f"<{ID}organization/ror-013e4n276>"  # 首都医科大学附属北京同仁医院
PREFIXES = """PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <https://schema.org/>
"""

ENTAILED = [
    ("inverse-property", f"{CAPITAL} mededkg:hasAffiliate {TONGREN}"),
    ("affiliated-implies-works-with", f"{TONGREN} mededkg:worksWith {CAPITAL}"),
    (
        "subclass",
        f"{CAPITAL} a mededkg:MedicalEducationInstitution , mededkg:Organization",
    ),
    ("alignment-subclass", f"{CAPITAL} a schema:CollegeOrUniversity"),
    ("hospital-superclass", f"{TIANTAN} a mededkg:Organization , schema:Hospital"),
    ("subproperty", f"{TIANTAN} mededkg:cooperatesWith {CAPITAL}"),
    ("symmetric", f"{CAPITAL} mededkg:cooperatesWith {TIANTAN}"),
    ("role-class-from-someValuesFrom", f"{TONGREN} a mededkg:AffiliatedHospital"),
    (
        "every-row-an-organization",
        f"<{ID}institution/4111010003> a mededkg:Organization",
    ),
    (
        "evidence-is-a-prov-entity",
        f"<{ID}evidence/4111010025-name-rule> a <http://www.w3.org/ns/prov#Entity>",
    ),
    (
        "cq06-objective",
        f"{CAPITAL} mededkg:hasObjective mededkg:EducateAndTrainMedicalStudents",
    ),
    ("cq06-clients", f"{TIANTAN} mededkg:servesClient mededkg:Patients"),
    ("cq03-duty", f"{CAPITAL} mededkg:hasDuty mededkg:Research"),
    (
        "cq08-degree-superclasses",
        f"<{ID}degree-type/professional-master-of-medicine> a mededkg:DegreeType , "
        "schema:EducationalOccupationalCredential",
    ),
    (
        "cq09-same-level-symmetric",
        f"<{ID}degree-type/professional-master-of-medicine> mededkg:sameLevelAs "
        f"<{ID}degree-type/academic-master-of-medicine>",
    ),
    (
        "transitive-broader",
        f"<{ID}discipline/1997/100201> skos:broaderTransitive <{ID}discipline/1997/10>",
    ),
    (
        "narrower-inverse",
        f"<{ID}discipline/1997/10> skos:narrower <{ID}discipline/1997/1002>",
    ),
]


@pytest.fixture(scope="module")
def store(repo_config: Config) -> Store:
    return EmbeddedStore.open(repo_config.store_path)


@pytest.mark.parametrize(("case", "pattern"), ENTAILED, ids=[c[0] for c in ENTAILED])
def test_entailment_is_in_the_inferred_graph(
    store: Store, case: str, pattern: str
) -> None:
    inferred = "<https://w3id.org/mededkg/graph/inferred>"
    query = f"{PREFIXES} ASK {{ GRAPH {inferred} {{ {pattern} }} }}"
    assert execute(store, query, limits=Limits()) == AskResult(True), case


def test_works_with_alone_makes_no_affiliated_hospital(store: Store) -> None:
    query = f"{PREFIXES} ASK {{ {TIANTAN} a mededkg:AffiliatedHospital }}"
    assert execute(store, query, limits=Limits()) == AskResult(False)


def test_asserted_triples_are_not_repeated_in_inferred(store: Store) -> None:
    query = (
        f"{PREFIXES} ASK {{ GRAPH <https://w3id.org/mededkg/graph/inferred> "
        f"{{ {CAPITAL} a mededkg:MedicalUniversity }} }}"
    )
    assert execute(store, query, limits=Limits()) == AskResult(False)


def test_property_chain_files_programmes_under_broader_disciplines(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from rdflib import Graph, Namespace, URIRef

    from mededkg.pipeline.reason import reason
    from mededkg.resources import default_root, ontology_dir

    med = Namespace("https://w3id.org/mededkg/ontology#")
    skos = Namespace("http://www.w3.org/2004/02/skos/core#")
    graph = Graph()
    for path in ontology_dir(default_root()).glob("*.ttl"):
        graph.parse(path)
    programme, second, first, category = (
        URIRef(f"{ID}test/{n}") for n in ("p", "100201", "1002", "10")
    )
    graph.add((programme, med.inDiscipline, second))
    graph.add((second, skos.broader, first))
    graph.add((first, skos.broader, category))
    inferred = reason([graph])
    for discipline in (second, first, category):
        assert (programme, med.inDisciplineUnder, discipline) in inferred


def test_domain_range_and_orientation_restriction_on_a_bare_resource() -> None:
    from rdflib import RDF, Graph, Namespace, URIRef

    from mededkg.pipeline.reason import reason
    from mededkg.resources import default_root, ontology_dir

    med = Namespace("https://w3id.org/mededkg/ontology#")
    graph = Graph()
    for path in ontology_dir(default_root()).glob("*.ttl"):
        graph.parse(path)
    degree, environment = URIRef(f"{ID}test/degree"), URIRef(f"{ID}test/env")
    graph.add((degree, RDF.type, med.ProfessionalDegree))
    graph.add((degree, med.trainingEnvironment, environment))
    inferred = reason([graph])
    assert (degree, med.orientation, med.Professional) in inferred  # hasValue
    assert (degree, RDF.type, med.DegreeType) in inferred  # domain and subclass
    assert (environment, RDF.type, med.TrainingEnvironment) in inferred  # range
