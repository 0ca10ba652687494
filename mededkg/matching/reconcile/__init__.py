"""Entity reconciliation: match names written in Chinese or English to the graph's
institutions, hospitals, disciplines and degree types, and fetch their properties.

The core of the W3C Entity Reconciliation API (0.2) service in :mod:`webapp.reconcile`,
without HTTP: an in-memory :class:`Index` built from plain statements, names
compared by the one scorer of :mod:`mededkg.matching.similarity` (0–100, with
``rapidfuzz`` as a prefilter), property constraints, suggest and data extension.

- :mod:`.model` — the properties, statements, queries, candidates and their features;
  ids and types;
- :mod:`.index` — the :class:`Index`: entities by every name form, ranking, suggest,
  data extension.

Imported by the web app (:mod:`webapp.reconcile`) and the benches; imports the names,
places and similarity modules only.

Identifiers are the entity's IRI with the base IRI cut off
(``id/institution/4111010023``): short, readable in a spreadsheet cell, and the path at
which the web app serves the resource. A full IRI is accepted wherever an id is.
"""

from __future__ import annotations

from mededkg.matching.reconcile.index import Index
from mededkg.matching.reconcile.model import (
    CONFLICT_FACTOR,
    DEFAULT_LIMIT,
    DEFAULT_TYPES,
    FEATURES,
    IDENTIFIER_WEIGHT,
    MATCH_MARGIN,
    MATCH_SCORE,
    MAX_LIMIT,
    MIN_SCORE,
    NAME_PREDICATES,
    NAME_WEIGHT,
    ONTOLOGY,
    PREFILTER,
    PROPERTIES,
    PROPERTY_BY_ID,
    PROPERTY_WEIGHT,
    RDF_TYPE,
    RDFS,
    SCHEMA,
    SKOS,
    Candidate,
    Cell,
    Constraint,
    Entity,
    Property,
    Query,
    ReconcileError,
    Statement,
    TypeInfo,
    Verdict,
    province_code,
    short_id,
    split_names,
)

__all__ = [
    "CONFLICT_FACTOR",
    "DEFAULT_LIMIT",
    "DEFAULT_TYPES",
    "FEATURES",
    "IDENTIFIER_WEIGHT",
    "MATCH_MARGIN",
    "MATCH_SCORE",
    "MAX_LIMIT",
    "MIN_SCORE",
    "NAME_PREDICATES",
    "NAME_WEIGHT",
    "ONTOLOGY",
    "PREFILTER",
    "PROPERTIES",
    "PROPERTY_BY_ID",
    "PROPERTY_WEIGHT",
    "RDFS",
    "RDF_TYPE",
    "SCHEMA",
    "SKOS",
    "Candidate",
    "Cell",
    "Constraint",
    "Entity",
    "Index",
    "Property",
    "Query",
    "ReconcileError",
    "Statement",
    "TypeInfo",
    "Verdict",
    "province_code",
    "short_id",
    "split_names",
]
