"""The identity links the ROR join establishes, as an SSSOM mapping set
(``data/links/ror-wikidata.sssom.tsv``): institution → ROR record (lexical match on the
Chinese name), institution/hospital → Wikidata item (the ROR record's own cross
reference)."""

from __future__ import annotations

from mededkg.importer.institutions import JoinResult, institution_iri, organization_iri
from mededkg.namespaces import PREFIXES
from mededkg.sssom import write_sssom

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
    "mapping_set_description": "MedEdKG institutions and hospitals to their ROR "
    "records and Wikidata items, from the ROR join of mededkg import",
    "license": "http://creativecommons.org/publicdomain/zero/1.0/",
    "mapping_date": "2026-06-23",
}


def mapping_rows(
    result: JoinResult, ror_rows: list[dict[str, str]], hospitals: list[str]
) -> list[dict[str, str]]:
    """One row per link, dated with the ROR extract's date so re-runs are identical."""
    by_id = {r["ror_id"]: r for r in ror_rows}
    rows: list[dict[str, str]] = []
    subjects = [
        (str(institution_iri(code)), record, result.how[code])
        for code, record in result.matched.items()
    ] + [(str(organization_iri(h)), by_id[h], "minted") for h in hospitals]
    for subject_iri, record, how in subjects:
        subject = _curie(subject_iri)
        ror_local = record["ror_id"].rsplit("/", 1)[-1]
        justification = (
            "semapv:LexicalMatching"
            if how != "minted"
            else ("semapv:DatabaseCrossReference")
        )
        comment = {
            "chinese-name": "normalised Chinese name equals the ROR record's",
            "alias": "normalised Chinese name equals an alias of the ROR record",
            "minted": "the hospital resource was created from this ROR record",
        }[how]
        rows.append(
            _row(
                subject,
                "skos:exactMatch",
                f"ror:{ror_local}",
                record["name"],
                justification,
                comment,
            )
        )
        if record["wikidata"]:
            rows.append(
                _row(
                    subject,
                    "skos:exactMatch",
                    f"wd:{record['wikidata']}",
                    record["name"],
                    "semapv:DatabaseCrossReference",
                    f"Wikidata id given by ROR record {ror_local}",
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
        "mapping_date": METADATA["mapping_date"],
        "mapping_tool": "mededkg.importer",
        "comment": comment,
    }


def _curie(iri: str) -> str:
    for prefix in ("institution", "organization"):
        if iri.startswith(CURIE_MAP[prefix]):
            return f"{prefix}:{iri[len(CURIE_MAP[prefix]) :]}"
    raise ValueError(iri)
