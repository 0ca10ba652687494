"""The project's namespaces and the one prefix map bound on every graph and query.

The ontology namespace is a closed :class:`~rdflib.namespace.DefinedNamespace`, so a
mistyped term fails at import time instead of silently minting a new IRI.
"""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DefinedNamespace

BASE_IRI = "https://w3id.org/mededkg/"
ONTOLOGY_IRI = URIRef(BASE_IRI + "ontology")


class MEDEDKG(DefinedNamespace):
    """Terms of the MedEdKG ontology (see ``docs/vocabulary-contract.md``)."""

    _NS = Namespace(BASE_IRI + "ontology#")
    _fail = True

    # Classes
    Organization: URIRef
    SpatialLevel: URIRef
    MedicalEducationInstitution: URIRef
    MedicalUniversity: URIRef
    UniversityMedicalSchool: URIRef
    NursingCollege: URIRef
    PharmacyCollege: URIRef
    TCMUniversity: URIRef
    University: URIRef
    Hospital: URIRef
    GovernmentBody: URIRef
    Programme: URIRef
    DegreeType: URIRef
    DegreeLevel: URIRef
    DegreeOrientation: URIRef
    Discipline: URIRef
    DisciplineCategory: URIRef
    FirstLevelDiscipline: URIRef
    SecondLevelDiscipline: URIRef
    ProfessionalDegreeCategory: URIRef
    CatalogueEdition: URIRef
    Duty: URIRef
    HospitalService: URIRef
    HospitalDepartment: URIRef
    ClientGroup: URIRef

    # Object properties
    establishedBy: URIRef
    established: URIRef
    partOf: URIRef
    hasPart: URIRef
    offersProgramme: URIRef
    offeredBy: URIRef
    awardsDegree: URIRef
    inDiscipline: URIRef
    affiliatedWith: URIRef
    hasAffiliate: URIRef
    cooperatesWith: URIRef
    sharesResourcesWith: URIRef
    hasDepartment: URIRef
    hasDuty: URIRef
    servesClient: URIRef
    providesService: URIRef
    degreeLevel: URIRef
    orientation: URIRef
    iscedLevel: URIRef
    sameLevelAs: URIRef
    supervisingAuthority: URIRef
    establishedByUnit: URIRef
    spatialLevel: URIRef

    # Datatype properties
    moeCode: URIRef
    rorId: URIRef
    wikidataId: URIRef
    foundingYear: URIRef
    province: URIRef
    city: URIRef
    educationLevel: URIRef
    durationYears: URIRef
    minimumClinicalTrainingMonths: URIRef
    statedCount: URIRef

    # Terms added beyond the contract go below this line (keep the groups above stable).
    StatedCount: URIRef
    dutyOf: URIRef
    clientOf: URIRef
    serviceProvidedBy: URIRef
    departmentOf: URIRef
    awardedBy: URIRef
    disciplineOf: URIRef
    startYear: URIRef
    Academic: URIRef
    AcademicDegree: URIRef
    AffiliatedHospital: URIRef
    BachelorLevel: URIRef
    BasicMedicine: URIRef
    Career: URIRef
    ClinicalMedicine: URIRef
    ClinicalTrainingSite: URIRef
    ContinuingEducation: URIRef
    DoctorInContactWithPatients: URIRef
    DoctorateLevel: URIRef
    EducateAndTrainMedicalStudents: URIRef
    Education: URIRef
    Gynecology: URIRef
    HealthVocationalCollege: URIRef
    HospitalDepartmentRotation: URIRef
    Hospitalization: URIRef
    IndependentMedicalInstitution: URIRef
    InternalMedicine: URIRef
    Internship: URIRef
    Laboratory: URIRef
    MasterLevel: URIRef
    MedicalScientist: URIRef
    MedicalStudents: URIRef
    Nursing: URIRef
    Objective: URIRef
    OperatesIndependentlyOfHospitals: URIRef
    CityLevel: URIRef
    OperationMode: URIRef
    OtherOrganization: URIRef
    OutpatientService: URIRef
    Patients: URIRef
    PeopleImprovingMedicalSkills: URIRef
    Pharmacy: URIRef
    Professional: URIRef
    ProfessionalDegree: URIRef
    ProgrammeKind: URIRef
    ProvideMedicalServices: URIRef
    Research: URIRef
    Researcher: URIRef
    Services: URIRef
    Surgery: URIRef
    SurgeryService: URIRef
    Teachers: URIRef
    TeachingHospital: URIRef
    Training: URIRef
    TrainingEnvironment: URIRef
    UniversityTeacher: URIRef
    clinicalTrainingSiteOf: URIRef
    countQualifier: URIRef
    countsLevel: URIRef
    edition: URIRef
    hasObjective: URIRef
    hasOperationMode: URIRef
    inDisciplineUnder: URIRef
    intendedCareer: URIRef
    nameCorroboration: URIRef
    ownership: URIRef
    programmeKind: URIRef
    teachingHospitalOf: URIRef
    trainingEnvironment: URIRef
    typicalDepartment: URIRef
    typicalService: URIRef
    # Coverage of the whole MOE list and evidence (issue 15)
    HigherEducationInstitution: URIRef
    Evidence: URIRef
    EvidenceRule: URIRef
    MedicalNameRule: URIRef
    RorMedicalUnitRule: URIRef
    RorPartOfRule: URIRef
    AffiliatedNameRule: URIRef
    RorRelatedRule: URIRef
    ProvinceFromAuthorityRule: URIRef
    ProvinceFromLocationRule: URIRef
    ProvinceFromGeonamesRule: URIRef
    medicalEducationEvidence: URIRef
    provinceEvidence: URIRef
    CityPointFromLocationRule: URIRef
    geometryEvidence: URIRef
    evidenceRule: URIRef
    via: URIRef
    worksWith: URIRef
    supportsRelation: URIRef


class SD(DefinedNamespace):
    """SPARQL 1.1 Service Description terms.

    https://www.w3.org/TR/sparql11-service-description/
    """

    _NS = Namespace("http://www.w3.org/ns/sparql-service-description#")
    _fail = True

    # Classes
    Aggregate: URIRef
    Dataset: URIRef
    EntailmentProfile: URIRef
    EntailmentRegime: URIRef
    Feature: URIRef
    Function: URIRef
    Graph: URIRef
    GraphCollection: URIRef
    Language: URIRef
    NamedGraph: URIRef
    Service: URIRef

    # Properties
    availableGraphs: URIRef
    defaultDataset: URIRef
    defaultEntailmentRegime: URIRef
    defaultGraph: URIRef
    defaultSupportedEntailmentProfile: URIRef
    endpoint: URIRef
    entailmentRegime: URIRef
    extensionAggregate: URIRef
    extensionFunction: URIRef
    feature: URIRef
    graph: URIRef
    inputFormat: URIRef
    languageExtension: URIRef
    name: URIRef
    namedGraph: URIRef
    propertyFeature: URIRef
    resultFormat: URIRef
    supportedEntailmentProfile: URIRef
    supportedLanguage: URIRef

    # Instances: languages and features
    SPARQL10Query: URIRef
    SPARQL11Query: URIRef
    SPARQL11Update: URIRef
    BasicFederatedQuery: URIRef
    DereferencesURIs: URIRef
    EmptyGraphs: URIRef
    RequiresDataset: URIRef
    UnionDefaultGraph: URIRef


class FORMATS(DefinedNamespace):
    """W3C unique IRIs for file formats (https://www.w3.org/ns/formats/)."""

    _NS = Namespace("http://www.w3.org/ns/formats/")
    _fail = True
    # Format names that are not Python identifiers, read with ``FORMATS["N-Triples"]``.
    _extras = [  # noqa: RUF012 (rdflib declares it a list)
        "JSON-LD",
        "N-Quads",
        "N-Triples",
        "POWDER-S",
        "PROV-N",
        "PROV-XML",
    ]

    Format: URIRef
    LD_Patch: URIRef
    microdata: URIRef
    N3: URIRef
    OWL_Functional: URIRef
    OWL_Manchester: URIRef
    OWL_XML: URIRef
    POWDER: URIRef
    RDF_JSON: URIRef
    RDF_XML: URIRef
    RDFa: URIRef
    RIF_XML: URIRef
    SPARQL_Results_CSV: URIRef
    SPARQL_Results_JSON: URIRef
    SPARQL_Results_TSV: URIRef
    SPARQL_Results_XML: URIRef
    TriG: URIRef
    Turtle: URIRef


#: Graph names with a fixed role in every build (under ``{base}graph/``).
ONTOLOGY_GRAPH = "ontology"
SHAPES_GRAPH = "shapes"
INFERRED_GRAPH = "inferred"
LINKS_GRAPH = "links"


def graph_iri(base_iri: str, name: str) -> URIRef:
    """Return the IRI of the named graph *name* under *base_iri*.

    >>> graph_iri("https://w3id.org/mededkg/", "data")
    rdflib.term.URIRef('https://w3id.org/mededkg/graph/data')
    """
    return URIRef(f"{base_iri}graph/{name}")


def graph_name(base_iri: str, iri: str) -> str:
    """Return the short name of a graph IRI (the IRI itself if it is not ours)."""
    prefix = f"{base_iri}graph/"
    return iri[len(prefix) :] if iri.startswith(prefix) else iri


ID = Namespace(BASE_IRI + "id/")
GRAPH = Namespace(BASE_IRI + "graph/")
SCHEMA = Namespace("https://schema.org/")
SH = Namespace("http://www.w3.org/ns/shacl#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
PROV = Namespace("http://www.w3.org/ns/prov#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SSSOM = Namespace("https://w3id.org/sssom/")
SEMAPV = Namespace("https://w3id.org/semapv/vocab/")
XKOS = Namespace("http://rdf-vocabulary.ddialliance.org/xkos#")
WD = Namespace("http://www.wikidata.org/entity/")
ROR = Namespace("https://ror.org/")
GEO = Namespace("http://www.opengis.net/ont/geosparql#")

#: The one prefix map: bound on every graph, export and query editor.
PREFIXES: dict[str, str] = {
    "mededkg": str(MEDEDKG._NS),
    "id": str(ID),
    # One prefix per kind of resource, so dumps read ``institution:4111010025`` rather
    # than ``id:institution\/4111010025`` (serializers pick the longest prefix).
    "institution": str(ID) + "institution/",
    "organization": str(ID) + "organization/",
    "programme": str(ID) + "programme/",
    "evidence": str(ID) + "evidence/",
    "govbody": str(ID) + "government-body/",
    "degreetype": str(ID) + "degree-type/",
    "source": str(ID) + "source/",
    "catalogue": str(ID) + "discipline-catalogue/",
    "disc1997": str(ID) + "discipline/1997/",
    "disc2011-2018": str(ID) + "discipline/2011-2018/",
    "disc2022": str(ID) + "discipline/2022/",
    "iscedlevel": str(ID) + "isced-2011-level/",
    "iscedf": str(ID) + "isced-f-2013/",
    "geometry": str(ID) + "geometry/",
    "graph": str(GRAPH),
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "prov": "http://www.w3.org/ns/prov#",
    "void": "http://rdfs.org/ns/void#",
    "sd": str(SD._NS),
    "formats": str(FORMATS._NS),
    "sh": str(SH),
    "schema": str(SCHEMA),
    "xkos": str(XKOS),
    "sssom": str(SSSOM),
    "semapv": str(SEMAPV),
    "vann": "http://purl.org/vocab/vann/",
    "wd": str(WD),
    "ror": str(ROR),
    "geo": str(GEO),
}


def sparql_prologue(prefixes: dict[str, str] | None = None) -> str:
    """Return ``PREFIX`` lines for *prefixes* (default: :data:`PREFIXES`).

    >>> sparql_prologue({"ex": "http://example.org/"})
    'PREFIX ex: <http://example.org/>\\n'
    """
    items = (prefixes or PREFIXES).items()
    return "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in items)
