"""SSSOM mapping sets: read and write the TSV form, and turn a set into SSSOM/RDF.

The RDF follows the SSSOM/RDF serialisation of the SSSOM specification (the one
sssom-py writes): the set is the resource named by its ``mapping_set_id``, of type
``sssom:MappingSet``, with its metadata slots (``dcterms:license``,
``dcterms:description``, ``owl:versionInfo``, ``dcterms:issued``…); each row is an
``owl:Axiom`` linked from the set with ``sssom:mappings``, carrying every slot of the
row (``owl:annotatedSource``/``annotatedProperty``/``annotatedTarget``,
``sssom:mapping_justification``, ``sssom:confidence``, ``dcterms:created``…), so a query
can ask *how* two things were linked. Each mapping also states its "direct triple"
(e.g. ``skos:exactMatch``), except a negated one (``predicate_modifier: Not``): that is
kept as an axiom with ``sssom:predicate_modifier sssom:NegatedPredicate`` and states no
link.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import OWL, RDF, RDFS, SKOS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from mededkg.errors import LoadError
from mededkg.namespaces import DCTERMS, PREFIXES, PROV, SSSOM

PAV = Namespace("http://purl.org/pav/")


def _kinds(**slots: str) -> dict[str, str]:
    return {slot: kind for kind, names in slots.items() for slot in names.split()}


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: The SSSOM slots (mapping and mapping set) by the type of their value, which decides
#: how a value is written in RDF: ``ref`` a CURIE (expanded to an IRI), ``uri`` an IRI,
#: ``date`` an ``xsd:date``, ``double`` an ``xsd:double``, ``enum`` the IRI of the
#: value's meaning, ``str`` a string.
SLOT_KINDS: dict[str, str] = _kinds(
    ref="subject_id predicate_id object_id mapping_justification record_id "
    "creator_id author_id reviewer_id subject_source object_source mapping_source "
    "mapping_tool_id subject_match_field object_match_field subject_preprocessing "
    "object_preprocessing curation_rule issue_tracker_item",
    uri="license mapping_provider mapping_set_source issue_tracker see_also",
    date="mapping_date publication_date review_date",
    double="confidence reviewer_agreement similarity_score mapping_set_confidence",
    enum="predicate_modifier subject_type object_type predicate_type sssom_version",
    str="subject_label subject_category predicate_label object_label object_category "
    "creator_label author_label reviewer_label subject_source_version "
    "object_source_version mapping_cardinality cardinality_scope mapping_tool "
    "mapping_tool_version match_string curation_rule_text similarity_measure other "
    "comment mapping_set_version mapping_set_title mapping_set_description",
)

#: Slots whose RDF property is not ``sssom:<slot>`` (their ``slot_uri`` in the schema).
SLOT_PROPERTIES: dict[str, URIRef] = {
    "subject_id": OWL.annotatedSource,
    "predicate_id": OWL.annotatedProperty,
    "object_id": OWL.annotatedTarget,
    "mapping_set_version": OWL.versionInfo,
    "mapping_set_title": DCTERMS.title,
    "mapping_set_description": DCTERMS.description,
    "creator_id": DCTERMS.creator,
    "author_id": PAV.authoredBy,
    "license": DCTERMS.license,
    "mapping_set_source": PROV.wasDerivedFrom,
    "mapping_date": DCTERMS.created,
    "publication_date": DCTERMS.issued,
    "see_also": RDFS.seeAlso,
    "comment": RDFS.comment,
}

#: Slots that hold several values (``|``-separated in a TSV cell).
MULTIVALUED = _names(
    "creator_id creator_label author_id author_label reviewer_id reviewer_label "
    "mapping_set_source cardinality_scope subject_match_field object_match_field "
    "match_string subject_preprocessing object_preprocessing curation_rule "
    "curation_rule_text see_also"
)

#: Mapping set slots that apply to every mapping of the set (SSSOM "propagatable").
PROPAGATABLE = _names(
    "subject_type predicate_type object_type subject_source subject_source_version "
    "object_source object_source_version mapping_provider cardinality_scope "
    "mapping_tool mapping_tool_id mapping_tool_version mapping_date "
    "subject_match_field object_match_field subject_preprocessing "
    "object_preprocessing curation_rule curation_rule_text similarity_measure"
)

#: The IRI each enumeration value means.
ENUM_MEANINGS: dict[str, URIRef] = {
    "Not": SSSOM.NegatedPredicate,
    "owl class": OWL.Class,
    "owl object property": OWL.ObjectProperty,
    # the schema's meaning (not owl:DatatypeProperty), so sssom-py writes the same
    "owl data property": URIRef(str(OWL) + "DataProperty"),
    "owl annotation property": OWL.AnnotationProperty,
    "owl named individual": OWL.NamedIndividual,
    "skos concept": SKOS.Concept,
    "rdfs resource": RDFS.Resource,
    "rdfs class": RDFS.Class,
    "rdfs literal": RDFS.Literal,
    "rdfs datatype": RDFS.Datatype,
    "rdf property": RDF.Property,
    "composed entity expression": SSSOM.ComposedEntityExpression,
    "1.0": SSSOM["version1.0"],
    "1.1": SSSOM["version1.1"],
}

NO_TERM_FOUND = "sssom:NoTermFound"

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
    """Read an SSSOM TSV file (``#``-prefixed YAML header, then a TSV table).

    Only the flat header forms written by :func:`write_sssom` are understood:
    ``key: value`` lines (the value plain, ``"double-quoted"`` or ``'single-quoted'``)
    and a ``curie_map:`` block of ``  prefix: IRI`` lines.

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
            curie_map[key.strip()] = _yaml_value(value, path, number)
            continue
        key, sep, value = body.partition(":")
        if not sep:
            raise LoadError(path, f"bad header line {body!r}", line=number)
        in_map = key.strip() == "curie_map" and not value.strip()
        if not in_map:
            metadata[key.strip()] = _yaml_value(value, path, number)
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


def _yaml_value(text: str, path: Path, line: int) -> str:
    """The string a YAML scalar of the header stands for (the forms
    :func:`_yaml_scalar` writes, and plain values with a ``#`` comment)."""
    text = text.strip()
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, str):
            raise LoadError(path, f"bad double-quoted value {text!r}", line=line)
        return value
    if text.startswith("'"):
        if len(text) < 2 or not text.endswith("'"):
            raise LoadError(path, f"bad single-quoted value {text!r}", line=line)
        return text[1:-1].replace("''", "'")
    return text.split(" #", 1)[0].rstrip()


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
    """Read an SSSOM TSV file into SSSOM/RDF: the mapping set, its mappings as
    ``owl:Axiom``s, and the direct triple of every mapping that is not negated.

    An rdflib graph of :func:`sssom_triples`.

    Raises:
        LoadError: for a malformed file, an unknown CURIE prefix or enumeration value.
    """
    graph = Graph()
    for triple in sssom_triples(path):
        graph.add(triple)
    return graph


def sssom_triples(path: Path) -> list[tuple[Node, Node, Node]]:
    """The SSSOM/RDF triples of an SSSOM TSV file (:func:`sssom_to_graph`), as a
    list: the build loads them without an rdflib graph in between.

    A propagatable slot of the set that no row sets is propagated to every mapping
    (as the SSSOM specification recommends for RDF); one a row sets stays on the set.

    Raises:
        LoadError: for a malformed file, an unknown CURIE prefix or enumeration value.
    """
    mapping_set = read_sssom(path)
    curie_map = mapping_set.curie_map
    metadata = dict(mapping_set.metadata)
    rows = [dict(row) for row in mapping_set.rows]
    for slot in sorted(PROPAGATABLE & metadata.keys()):
        if metadata[slot] and not any(row.get(slot) for row in rows):
            value = metadata.pop(slot)
            for row in rows:
                row[slot] = value
    triples: list[tuple[Node, Node, Node]] = []
    set_iri = URIRef(metadata.pop("mapping_set_id", path.resolve().as_uri()))
    triples.append((set_iri, RDF.type, SSSOM.MappingSet))
    try:
        _add_slots(triples, set_iri, metadata, curie_map)
    except ValueError as error:
        raise LoadError(path, str(error)) from error
    for number, row in enumerate(rows, start=2):
        try:
            _add_mapping(triples, set_iri, row, curie_map)
        except ValueError as error:
            raise LoadError(path, str(error), line=number) from error
    return list(dict.fromkeys(triples))


def _add_mapping(
    graph: list[tuple[Node, Node, Node]],
    set_iri: URIRef,
    row: dict[str, str],
    curie_map: dict[str, str],
) -> None:
    subject = expand(row["subject_id"], curie_map) if row["subject_id"] else None
    predicate = expand(row["predicate_id"], curie_map)
    obj = expand(row["object_id"], curie_map) if row["object_id"] else None
    negated = row.get("predicate_modifier", "") == "Not"
    if row.get("record_id"):
        axiom = expand(row["record_id"], curie_map)
    else:
        # A stable name from the triple (a negated mapping is another statement).
        key = f"{subject} {predicate} {obj}" + (" Not" if negated else "")
        axiom = URIRef(
            f"{set_iri}#mapping-{hashlib.sha1(key.encode()).hexdigest()[:16]}"
        )
    graph.append((set_iri, SSSOM.mappings, axiom))
    graph.append((axiom, RDF.type, OWL.Axiom))
    _add_slots(graph, axiom, row, curie_map)
    literal = "rdfs literal" in (row.get("subject_type"), row.get("object_type"))
    no_term = NO_TERM_FOUND in (row["subject_id"], row["object_id"])
    if subject is not None and obj is not None and not (negated or literal or no_term):
        graph.append((subject, predicate, obj))


def _add_slots(
    graph: list[tuple[Node, Node, Node]],
    node: URIRef,
    slots: Mapping[str, str],
    curie_map: dict[str, str],
) -> None:
    """One triple per value of every SSSOM slot in *slots* (a key that is no SSSOM
    slot has no RDF form here and is left out)."""
    for slot, cell in slots.items():
        kind = SLOT_KINDS.get(slot)
        if kind is None or not cell:
            continue
        prop = SLOT_PROPERTIES.get(slot, SSSOM[slot])
        values = cell.split("|") if slot in MULTIVALUED else [cell]
        for value in values:
            graph.append((node, prop, _rdf_value(kind, value.strip(), curie_map)))


def _rdf_value(kind: str, value: str, curie_map: dict[str, str]) -> Node:
    if kind == "ref":
        return expand(value, curie_map)
    if kind == "uri":
        return URIRef(value)
    if kind == "enum":
        if value not in ENUM_MEANINGS:
            raise ValueError(f"unknown SSSOM enumeration value {value!r}")
        return ENUM_MEANINGS[value]
    datatype = {"date": XSD.date, "double": XSD.double}.get(kind)
    return Literal(value, datatype=datatype)


def write_sssom(
    metadata: dict[str, str],
    curie_map: dict[str, str],
    rows: list[dict[str, str]],
    *,
    columns: tuple[str, ...] = COLUMNS,
) -> str:
    """Return the SSSOM TSV text for *rows* (sorted; same input, same bytes).

    The header is YAML: a value is written plain when YAML reads it back as the same
    string (or date, for a date slot), else double-quoted. *columns* are the table's
    columns, in order (default :data:`COLUMNS`).

    Raises:
        ValueError: *metadata* holds a propagatable slot (e.g. ``mapping_date``) that
            some rows set otherwise (see :func:`contradicted_slots`).
    """
    contradicted = contradicted_slots(metadata, rows)
    if contradicted:
        raise ValueError(
            f"{', '.join(contradicted)}: set on the mapping set and otherwise on rows"
        )
    lines = [f"#{key}: {_yaml_scalar(key, value)}" for key, value in metadata.items()]
    lines.append("#curie_map:")
    lines += [
        f"#  {prefix}: {_yaml_scalar('', iri)}"
        for prefix, iri in sorted(curie_map.items())
    ]
    ordered = sorted(
        rows, key=lambda r: (r["subject_id"], r["predicate_id"], r["object_id"])
    )
    return "\n".join(lines) + "\n" + tsv_table(columns, ordered)


def contradicted_slots(
    metadata: Mapping[str, str], rows: Iterable[Mapping[str, str]]
) -> list[str]:
    """The propagatable slots of *metadata* that the rows contradict.

    SSSOM reads a propagatable slot of the set (``mapping_date``, ``mapping_tool``…)
    as every mapping's value, but only if no row has a value of its own; a header
    value is therefore sound when no row sets the slot, or every row sets it to the
    same value.

    >>> contradicted_slots({"mapping_date": "2026-01-01"}, [{"mapping_date": ""}])
    []
    >>> contradicted_slots({"mapping_date": "2026-01-01"},
    ...                    [{"mapping_date": "2026-01-01"}, {"mapping_date": ""}])
    ['mapping_date']
    """
    rows = list(rows)
    return sorted(
        slot
        for slot in PROPAGATABLE & metadata.keys()
        if any(row.get(slot) for row in rows)
        and any(row.get(slot, "") != metadata[slot] for row in rows)
    )


#: Header values YAML reads back as the same string when written plain: words that
#: start with a letter, and IRIs (nothing a YAML plain scalar may not hold).
_PLAIN = re.compile(
    r"[^\W\d_](?:[\w .+/-]*[\w.+/-])?"
    r"|https?://(?:[\w.~:/?#\[\]@!$&()*+,;=%-]*[\w.~/?#\[\]@!$&()*+,;=%-])?"
)
_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_YAML_WORDS = _names("y n yes no true false on off null")


def _yaml_scalar(key: str, value: str) -> str:
    """*value* as a YAML scalar of the header (for slot *key*).

    >>> _yaml_scalar("mapping_tool", "mededkg link")
    'mededkg link'
    >>> _yaml_scalar("mapping_set_description", "to ROR: found by names")
    '"to ROR: found by names"'
    >>> _yaml_scalar("mapping_tool_version", "0.1.0")
    '"0.1.0"'
    """
    if (_PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS) or (
        SLOT_KINDS.get(key) == "date" and _PLAIN_DATE.fullmatch(value)
    ):
        return value
    # JSON's escapes are YAML's; characters of the BMP that are not printable (line
    # separators among them) are escaped too, so the value stays on its one header
    # line (YAML reads the others as they are, and has no surrogate pairs).
    return "".join(
        c if c.isprintable() or ord(c) > 0xFFFF else json.dumps(c)[1:-1]
        for c in json.dumps(value, ensure_ascii=False)
    )


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
