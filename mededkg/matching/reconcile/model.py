"""What reconciliation works with: the properties it knows, the statements the index
is built from, queries, candidates and their scores (see
:mod:`mededkg.matching.reconcile`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mededkg.errors import MedEdKGError
from mededkg.matching import gazetteer
from mededkg.namespaces import PREFIXES

# The index reads plain strings (rows of SPARQL results): the namespaces as strings.
RDF_TYPE = PREFIXES["rdf"] + "type"
RDFS = PREFIXES["rdfs"]
SKOS = PREFIXES["skos"]
SCHEMA = PREFIXES["schema"]
ONTOLOGY = PREFIXES["mededkg"]

#: Predicates whose values name an entity (preferred names first).
NAME_PREDICATES = (RDFS + "label", SKOS + "prefLabel", SKOS + "altLabel")
#: Classes whose instances are reconciled, in the order the manifest lists them.
DEFAULT_TYPES = (
    "MedicalEducationInstitution",
    "Hospital",
    "HigherEducationInstitution",
    "Discipline",
    "DegreeType",
)

#: Default and largest number of candidates per query.
DEFAULT_LIMIT = 5
MAX_LIMIT = 100
#: Fewest points a candidate needs to be returned at all.
MIN_SCORE = 50.0
#: Names the fuzzy prefilter passes on to :func:`mededkg.matching.similarity.pair` per
#: query.
PREFILTER = 200
#: Weights of the weighted mean that makes a score: the name, a property that names
#: a place or a kind (type, province, city, …), an identifier (MOE code, ROR id,
#: Wikidata id). A property the candidate has no value for is left out of the mean.
NAME_WEIGHT = 4.0
PROPERTY_WEIGHT = 1.0
IDENTIFIER_WEIGHT = 8.0
#: A top candidate is a sure ``match`` at this score and this lead over the next one.
MATCH_SCORE = 95.0
MATCH_MARGIN = 5.0
#: A candidate whose places conflict with the query's keeps this share of its score
#: (at most 50: below :data:`MIN_SCORE`, so below every candidate without a conflict).
CONFLICT_FACTOR = 0.5


class ReconcileError(MedEdKGError):
    """A reconciliation or extension request that cannot be answered as sent."""


@dataclass(frozen=True)
class Property:
    """A property the service matches on and returns in data extension.

    Attributes:
        id: the property id of the API (``province``).
        predicate: the RDF predicate it reads.
        name: English name shown in OpenRefine.
        description: one sentence for the suggest service.
        kind: ``str`` (a literal), ``entity`` (a link, answered as ``{id, name}``),
            ``id`` (an identifier literal: exact match only) or ``type``.
        lang: only literals in this language (``""`` = any).
    """

    id: str
    predicate: str
    name: str
    description: str
    kind: str = "str"
    lang: str = ""


#: Every property, in the order data extension proposes them.
PROPERTIES: tuple[Property, ...] = (
    Property(
        "nameZh", RDFS + "label", "Chinese name", "名称 (rdfs:label@zh)", lang="zh"
    ),
    Property("nameEn", RDFS + "label", "English name", "rdfs:label@en", lang="en"),
    Property("altLabel", SKOS + "altLabel", "other names", "abbreviations, aliases"),
    Property("type", RDF_TYPE, "type", "most specific MedEdKG class", kind="type"),
    Property(
        "moeCode", ONTOLOGY + "moeCode", "MOE code", "教育部学校标识码", kind="id"
    ),
    Property(
        "rorId",
        ONTOLOGY + "rorId",
        "ROR id",
        "Research Organization Registry",
        kind="id",
    ),
    Property(
        "wikidataId", ONTOLOGY + "wikidataId", "Wikidata id", "Wikidata item", kind="id"
    ),
    Property("province", ONTOLOGY + "province", "province", "province-level division"),
    Property("city", ONTOLOGY + "city", "city", "city of the main campus"),
    Property(
        "educationLevel", ONTOLOGY + "educationLevel", "education level", "本科 or 专科"
    ),
    Property(
        "foundingYear", ONTOLOGY + "foundingYear", "founding year", "year founded"
    ),
    Property(
        "supervisingAuthority",
        ONTOLOGY + "supervisingAuthority",
        "supervising authority",
        "主管部门",
        kind="entity",
    ),
    Property(
        "affiliatedWith",
        ONTOLOGY + "affiliatedWith",
        "affiliated with",
        "the university a hospital is affiliated with",
        kind="entity",
    ),
    Property("url", SCHEMA + "url", "website", "home page"),
    Property("notation", SKOS + "notation", "code", "code in the discipline catalogue"),
    Property(
        "inScheme",
        SKOS + "inScheme",
        "catalogue edition",
        "edition of the discipline catalogue",
        kind="entity",
    ),
    Property(
        "broader",
        SKOS + "broader",
        "broader discipline",
        "the discipline or category above",
        kind="entity",
    ),
)
PROPERTY_BY_ID = {p.id: p for p in PROPERTIES}


# --- names ---------------------------------------------------------------------------
def split_names(text: str) -> list[str]:
    """The names in a label that lists several separated by semicolons.

    >>> split_names("中国医学科学院;北京协和医学院")
    ['中国医学科学院', '北京协和医学院']
    """
    return [part.strip() for part in re.split(r"[;；]", text) if part.strip()]


def province_code(text: str) -> str | None:
    """The GB/T 2260 code of a province named in Chinese or English, or ``None``
    (:mod:`mededkg.matching.gazetteer`).

    >>> province_code("广东省"), province_code("Inner Mongolia"), province_code("x")
    ('44', '15', None)
    >>> province_code("陕西"), province_code("Shanxi Province")
    ('61', '14')
    """
    return gazetteer.default().province_code(text)


# --- the index -----------------------------------------------------------------------
@dataclass(frozen=True)
class Statement:
    """One row of the index queries: a subject, a predicate and a value.

    Attributes:
        subject: IRI of the entity (or type, or referent).
        predicate: IRI of the predicate.
        value: the IRI or the literal's lexical form.
        lang: the literal's language tag (``""`` if none).
        is_iri: True if *value* is an IRI.
    """

    subject: str
    predicate: str
    value: str
    lang: str = ""
    is_iri: bool = False


@dataclass(frozen=True)
class TypeInfo:
    """A class entities can be reconciled against."""

    id: str
    iri: str
    names: Mapping[str, str]
    description: str
    broader: tuple[str, ...]

    def name(self, lang: str = "en") -> str:
        """The class label in *lang*, else in the other language, else the id."""
        return self.names.get(lang) or next(iter(self.names.values()), self.id)


@dataclass
class Entity:
    """One reconcilable resource with everything the service says about it."""

    id: str
    iri: str
    values: dict[str, list[Statement]] = field(default_factory=dict)
    types: set[str] = field(default_factory=set)
    kinds: tuple[str, ...] = ()
    provinces: frozenset[str] = frozenset()
    #: The gazetteer places its names name, and those it is located in (its
    #: province, stated or from its MOE code, and its city).
    places: frozenset[gazetteer.Place] = frozenset()
    located: frozenset[gazetteer.Place] = frozenset()

    def literals(self, predicate: str, lang: str | None = None) -> list[str]:
        """The values of *predicate* (only those in *lang* if given)."""
        return [
            s.value
            for s in self.values.get(predicate, [])
            if lang is None or s.lang.split("-")[0] == lang
        ]

    def names(self, lang: str | None = None) -> list[str]:
        """Every name (labels first), each part of a ``;`` list on its own."""
        found: list[str] = []
        for predicate in NAME_PREDICATES:
            for value in self.literals(predicate, lang):
                found.extend(n for n in split_names(value) if n not in found)
        return found

    def name(self, lang: str = "zh") -> str:
        """The preferred name in *lang*, else in the other language, else the id."""
        other = "en" if lang == "zh" else "zh"
        for language in (lang, other, None):
            for predicate in (RDFS + "label", SKOS + "prefLabel"):
                values = self.literals(predicate, language)
                if values:
                    return split_names(min(values, key=len))[0]
        return self.id


@dataclass(frozen=True)
class Constraint:
    """A property value a query says the entity has (``{"pid", "v"}``)."""

    pid: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    """One reconciliation query of a batch.

    Attributes:
        text: the name to match (may be empty if *constraints* are given).
        types: type ids the candidates must have (any of them, or all of them).
        limit: most candidates to return.
        constraints: property values that raise or lower a candidate's score.
        type_strict: ``any`` (default), ``all``, or ``should`` (a preference only).
    """

    text: str = ""
    types: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT
    constraints: tuple[Constraint, ...] = ()
    type_strict: str = "any"


@dataclass
class Verdict:
    """What the property constraints of a query say about one candidate."""

    agree: int = 0
    disagree: int = 0
    identifier: bool = False
    #: Sum of weight × (100 if the value agrees else 0), and the sum of the weights.
    points: float = 0.0
    weight: float = 0.0

    def add(self, agrees: bool, weight: float) -> None:
        """Count one constraint that agrees or disagrees, with its weight."""
        self.agree += agrees
        self.disagree += not agrees
        self.points += 100.0 * weight if agrees else 0.0
        self.weight += weight


@dataclass(frozen=True)
class Candidate:
    """A reconciliation candidate: one entity, its score, whether it is sure, the
    features the score is made of (:data:`FEATURES`) and why, in words."""

    entity: Entity
    score: float
    match: bool = False
    features: Mapping[str, float | bool] = field(default_factory=dict)
    why: tuple[str, ...] = ()


#: The features of a candidate (Reconciliation API ``features``), in this order:
#: ``name`` the name similarity 0–100 (:mod:`mededkg.matching.similarity`); ``place`` 1
#: when the places the query names agree with the candidate's, -1 when they conflict, 0
#: when there is nothing to compare; ``type`` whether the candidate has a type the
#: query asks for (only when it asks); ``properties`` the share (0–100) of the
#: query's property values the candidate agrees with (only when there are some);
#: ``identifier`` whether an identifier the query gives (MOE code, ROR id, Wikidata
#: id) is the candidate's; ``unique`` whether the candidate leads the next by
#: :data:`MATCH_MARGIN`.
FEATURES = ("name", "place", "type", "properties", "identifier", "unique")


@dataclass(frozen=True)
class Cell:
    """One value in a data extension row: a string or a link to an entity."""

    text: str
    id: str = ""


# --- ids and types -------------------------------------------------------------------
def short_id(base_iri: str, iri: str) -> str:
    """The id of *iri*: the IRI without the base (the IRI itself outside the base).

    >>> short_id("https://w3id.org/mededkg/", "https://w3id.org/mededkg/id/x")
    'id/x'
    """
    return iri[len(base_iri) :] if iri.startswith(base_iri) else iri


def province_name(code: str, lang: str) -> str:
    g = gazetteer.default()
    province = g.province(code)
    return g.name(province, lang) if province else code


def type_infos(rows: Iterable[Statement]) -> dict[str, TypeInfo]:
    names: dict[str, dict[str, str]] = {}
    comments: dict[str, dict[str, str]] = {}
    broader: dict[str, list[str]] = {}
    for s in rows:
        if not s.subject.startswith(ONTOLOGY):
            continue
        local = s.subject[len(ONTOLOGY) :]
        names.setdefault(local, {})
        lang = s.lang.split("-")[0] or "en"
        if s.predicate in (RDFS + "label", SKOS + "prefLabel"):
            names[local].setdefault(lang, s.value)
        elif s.predicate in (RDFS + "comment", SKOS + "definition"):
            comments.setdefault(local, {}).setdefault(lang, s.value)
        elif s.predicate == RDFS + "subClassOf" and s.value.startswith(ONTOLOGY):
            broader.setdefault(local, []).append(s.value[len(ONTOLOGY) :])
    return {
        local: TypeInfo(
            local,
            ONTOLOGY + local,
            labels,
            comments.get(local, {}).get("en", ""),
            tuple(sorted(b for b in broader.get(local, []) if b != local)),
        )
        for local, labels in names.items()
    }


def most_specific(types: set[str], infos: Mapping[str, TypeInfo]) -> tuple[str, ...]:
    """The types of *types* that are no other's (transitive) superclass, ordered by
    the reconciled type they are under, in the order of :data:`DEFAULT_TYPES` (a
    medical university of the MOE list is a ``MedicalUniversity`` before a
    ``HigherEducationInstitution``)."""

    def ancestors(name: str, seen: set[str]) -> set[str]:
        for parent in infos[name].broader if name in infos else ():
            if parent not in seen:
                seen.add(parent)
                ancestors(parent, seen)
        return seen

    above: set[str] = set()
    for name in types:
        above |= ancestors(name, set())

    def rank(name: str) -> int:
        """The place in :data:`DEFAULT_TYPES` of the first reconciled type *name*
        is or is under (after all of them if none)."""
        reached = {name} | ancestors(name, set())
        return min(
            (i for i, top in enumerate(DEFAULT_TYPES) if top in reached),
            default=len(DEFAULT_TYPES),
        )

    return tuple(
        sorted(
            (t for t in types if t not in above and t in infos),
            key=lambda t: (rank(t), t),
        )
    )
