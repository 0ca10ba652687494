"""The identity links the ROR join establishes, as an SSSOM mapping set
(``data/links/ror-wikidata.sssom.tsv``): institution → ROR record (lexical match on the
Chinese name), institution/hospital → Wikidata item (the ROR record's own cross
reference)."""

from __future__ import annotations

from mededkg.importer.hospitals import Found
from mededkg.importer.institutions import JoinResult, institution_iri, organization_iri
from mededkg.matching.sssom import write_sssom
from mededkg.namespaces import PREFIXES

CURIE_MAP = {
    "institution": PREFIXES["institution"],
    "organization": PREFIXES["organization"],
    "ror": PREFIXES["ror"],
    "wd": PREFIXES["wd"],
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "semapv": PREFIXES["semapv"],
}
METADATA = {
    "mapping_set_id": "https://w3id.org/mededkg/id/mapping-set/ror-wikidata",
    "mapping_set_description": "MedEdKG institutions, medical units and hospitals to "
    "their ROR records and Wikidata items, from the ROR join of mededkg import",
    "license": "http://creativecommons.org/publicdomain/zero/1.0/",
    "publication_date": "2026-06-23",
}
COMMENTS = {
    "chinese-name": "normalised Chinese name equals a Chinese label of the ROR record",
    "alias": "normalised Chinese name equals an alias of the ROR record",
    "minted": "the resource was created from this ROR record",
}


def mapping_rows(result: JoinResult, found: Found) -> list[dict[str, str]]:
    """One row per link, dated with the ROR extract's date so re-runs are identical.

    Institutions joined through ``mededkg link`` get no ROR row here (the linker's own
    mapping set states it), only their Wikidata cross-reference.
    """
    rows: list[dict[str, str]] = []
    subjects = [
        (str(institution_iri(code)), record, result.how[code])
        for code, record in sorted(result.matched.items())
    ]
    minted = sorted({*found.hospitals, *found.units})
    records = {**found.hospitals, **{k: v[0] for k, v in found.units.items()}}
    subjects += [(str(organization_iri(i)), records[i], "minted") for i in minted]
    for subject_iri, record, how in subjects:
        subject = _curie(subject_iri)
        if how != "linker":
            lexical = how != "minted"
            rows.append(
                _row(
                    subject,
                    "skos:exactMatch",
                    f"ror:{record.suffix}",
                    record.display,
                    # a minted resource is its ROR record: no matching to name
                    "semapv:LexicalMatching"
                    if lexical
                    else "semapv:UnspecifiedMatching",
                    COMMENTS[how],
                )
            )
        if record.wikidata:
            rows.append(
                _row(
                    subject,
                    "skos:exactMatch",
                    f"wd:{record.wikidata}",
                    record.display,
                    # our ROR link, then the ROR record's own Wikidata cross-reference
                    "semapv:MappingChaining",
                    f"Wikidata id given by ROR record {record.suffix}",
                )
            )
    return rows


def sssom_text(rows: list[dict[str, str]]) -> str:
    """The mapping set as SSSOM TSV."""
    return write_sssom(METADATA, CURIE_MAP, rows)


def _row(
    subject: str, predicate: str, obj: str, label: str, justification: str, comment: str
) -> dict[str, str]:
    return {
        "subject_id": subject,
        "predicate_id": predicate,
        "object_id": obj,
        "object_label": label,
        "mapping_justification": justification,
        "confidence": "1.0" if "Lexical" not in justification else "0.95",
        "author_label": "mededkg import",
        "mapping_date": METADATA["publication_date"],
        "mapping_tool": "mededkg.importer",
        "comment": comment,
    }


def _curie(iri: str) -> str:
    for prefix in ("institution", "organization"):
        if iri.startswith(CURIE_MAP[prefix]):
            return f"{prefix}:{iri[len(CURIE_MAP[prefix]) :]}"
    raise ValueError(iri)
