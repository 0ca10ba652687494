"""Output: the SSSOM linkset and the review file, keeping every row a curator
touched."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from mededkg.matching.link.model import (
    LINK_COLUMNS,
    REVIEW_COLUMNS,
    TOOL,
    TOOL_AUTHOR,
    Candidate,
    Decision,
    LinkResult,
    OverwriteRefused,
    WriteReport,
    tool_version,
)
from mededkg.matching.sssom import read_sssom, tsv_table, write_sssom
from mededkg.namespaces import PREFIXES


# --- output ----------------------------------------------------------------------
def linkset_paths(links_dir: Path, entities: str, target: str) -> tuple[Path, Path]:
    """Where the SSSOM file and the review file of a linkset go.

    >>> sssom, review = linkset_paths(Path("links"), "institutions", "ror")
    >>> sssom.as_posix(), review.as_posix()
    ('links/institutions-ror.sssom.tsv', 'links/review/institutions-ror.review.tsv')
    """
    stem = f"{entities}-{target}"
    return links_dir / f"{stem}.sssom.tsv", links_dir / "review" / f"{stem}.review.tsv"


def _curie_map(prefixes: dict[str, str]) -> dict[str, str]:
    return {**{k: v for k, v in PREFIXES.items()}, **prefixes}


def compress(iri: str, curie_map: dict[str, str]) -> str:
    """The shortest CURIE for *iri* under *curie_map* (the IRI itself if none fits).

    >>> compress("https://ror.org/013xs5b60", {"ror": "https://ror.org/"})
    'ror:013xs5b60'
    """
    best = ""
    for prefix, namespace in curie_map.items():
        if iri.startswith(namespace) and len(namespace) > len(curie_map.get(best, "")):
            local = iri[len(namespace) :]
            if re.fullmatch(r"[\w.\-]*", local):
                best = prefix
    return f"{best}:{iri[len(curie_map[best]) :]}" if best else iri


def _is_curated(row: dict[str, str]) -> bool:
    return bool(
        row.get("author_label", "") != TOOL_AUTHOR
        or row.get("reviewer_label")
        or row.get("predicate_modifier")
    )


_COMPARED = (
    "subject_id",
    "predicate_id",
    "object_id",
    "mapping_justification",
    "confidence",
    "comment",
)


def write_linkset(
    result: LinkResult,
    *,
    links_dir: Path,
    entities: str,
    target: str,
    description: str,
    prefixes: dict[str, str],
    date: str | None,
    today: str,
    force: bool = False,
) -> WriteReport:
    """Write the accepted links as SSSOM and the uncertain ones as a review TSV.

    Never silently overwrites: rows of an existing file that a curator wrote or
    reviewed (another ``author_label``, or a ``reviewer_label`` or
    ``predicate_modifier``) are kept, and the tool's own row for the same pair is
    dropped (so a curator rejects a link with ``predicate_modifier: Not``); if the
    tool's rows would change, :class:`OverwriteRefused` is raised
    unless *force*. Same inputs → byte-identical files.

    Args:
        date: the ``mapping_date``; ``None`` keeps the existing file's date when the
            tool's rows are unchanged, else *today*.

    Raises:
        OverwriteRefused: the tool rows differ from the existing file's, without force.
    """
    sssom_path, review_path = linkset_paths(links_dir, entities, target)
    report = WriteReport(sssom_path, review_path)
    curie_map = _curie_map(prefixes)
    version = tool_version()
    new_rows = [_row(d, curie_map) for d in result.accepted]
    curated: list[dict[str, str]] = []
    old_tool: list[dict[str, str]] = []
    old_date = ""
    if sssom_path.exists():
        old = read_sssom(sssom_path)
        # the set's date (``mapping_date`` in files from before it was
        # ``publication_date``): the tool rows' date when it last wrote them
        meta = old.metadata
        old_date = meta.get("publication_date") or meta.get("mapping_date", "")
        for row in old.rows:
            (curated if _is_curated(row) else old_tool).append(row)
    curated_pairs = {(r["subject_id"], r["object_id"]) for r in curated}
    # A curator's row for a pair wins over the tool's row for the same pair.
    kept_new = [
        row
        for row in new_rows
        if (row["subject_id"], row["object_id"]) not in curated_pairs
    ]

    def comparable(rows: Iterable[dict[str, str]]) -> set[tuple[str, ...]]:
        return {tuple(r.get(c, "") for c in _COMPARED) for r in rows}

    unchanged = comparable(old_tool) == comparable(kept_new)
    if sssom_path.exists() and not unchanged:
        if not force:
            raise OverwriteRefused(
                sssom_path,
                f"the tool's links would change ({len(old_tool)} rows now, "
                f"{len(kept_new)} after this run); rows a curator touched are kept "
                "either way — re-run with --force to replace the tool's rows",
            )
        report.tool_rows_replaced = len(old_tool)
    mapping_date = date or (old_date if unchanged and old_date else today)
    for row in kept_new:
        row["mapping_date"] = mapping_date
        row["mapping_tool_version"] = version
    report.changed = not unchanged or not sssom_path.exists()
    report.curated_kept = len(curated)
    report.accepted = len(kept_new)
    used = {
        r[c].partition(":")[0]
        for r in (*curated, *kept_new)
        for c in ("subject_id", "predicate_id", "object_id", "mapping_justification")
    }
    header = {
        "mapping_set_id": f"{PREFIXES['id']}mapping-set/{entities}-{target}",
        "mapping_set_description": description,
        "license": "https://creativecommons.org/licenses/by/4.0/",
        # Not mapping_date/mapping_tool: those are on every row (a curator's row has
        # its own), and SSSOM would read a set-level value as every row's.
        "publication_date": mapping_date,
    }
    text = write_sssom(
        header,
        {p: curie_map[p] for p in sorted(used) if p in curie_map},
        [*curated, *kept_new],
        columns=LINK_COLUMNS,
    )
    sssom_path.parent.mkdir(parents=True, exist_ok=True)
    _write_if_changed(sssom_path, text)
    review_rows = [_review_row(d, curie_map) for d in result.review]
    report.review_items = len({r["subject_id"] for r in review_rows})
    review_path.parent.mkdir(parents=True, exist_ok=True)
    _write_if_changed(review_path, tsv_table(REVIEW_COLUMNS, review_rows))
    return report


def _row(decision: Decision, curie_map: dict[str, str]) -> dict[str, str]:
    c = decision.candidate
    return {
        "subject_id": compress(c.entity.iri, curie_map),
        "subject_label": c.entity.label,
        "predicate_id": decision.predicate,
        "object_id": compress(c.target.iri, curie_map),
        "object_label": c.target.label,
        "mapping_justification": justification(c),
        "confidence": f"{c.confidence:.3f}",
        "author_label": TOOL_AUTHOR,
        "mapping_tool": TOOL,
        "comment": c.justification,
    }


#: Evidence besides the names that makes a match composite (SEMAPV).
_CORROBORATION = ("web domain ", "acronym ", "both located in ")


def justification(candidate: Candidate) -> str:
    """The SEMAPV justification of a candidate: names alone are lexical matching;
    names corroborated by a web domain, an acronym or a shared place are composite.
    """
    if any(e.startswith(_CORROBORATION) for e in candidate.evidence):
        return "semapv:CompositeMatching"
    return "semapv:LexicalMatching"


def _review_row(decision: Decision, curie_map: dict[str, str]) -> dict[str, str]:
    row = _row(decision, curie_map)
    row["reason"] = decision.reason
    return row


def _write_if_changed(path: Path, text: str) -> None:
    from mededkg.pipeline.export import write_atomically

    data = text.encode("utf-8")
    if path.exists() and path.read_bytes() == data:
        return
    write_atomically(path, data)


def today_iso() -> str:
    """Today's date (UTC, ``YYYY-MM-DD``): the default ``mapping_date`` of new links."""
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def describe(entities: str, targets: Sequence[str], kind: str, accept: float) -> str:
    """The ``mapping_set_description`` of a linkset (no machine-specific paths)."""
    where = " + ".join(t if kind == "sparql" else Path(t).name for t in targets)
    return (
        f"MedEdKG {entities} to the records of {where} ({kind}), found by "
        f"`mededkg link`: normalised/folded names, aliases, acronyms, places and web "
        f"domains, accepted from score {accept:.2f}; uncertain candidates are in "
        f"review/, not here"
    )
