"""Step 4: the decision — accepted links, review items and unlinked entities."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from mededkg.errors import LoadError
from mededkg.matching.link.match import _rank
from mededkg.matching.link.model import (
    Candidate,
    Decision,
    Entity,
    LinkResult,
    Thresholds,
)
from mededkg.matching.sssom import expand, read_sssom


# --- 4. decision -----------------------------------------------------------------
def decide(
    entities: Sequence[Entity],
    candidates: dict[str, list[Candidate]],
    *,
    thresholds: Thresholds | None = None,
    existing: dict[str, dict[str, str]] | None = None,
) -> LinkResult:
    """Turn candidates into accepted links, review items and unlinked entities.

    Rules, in order: the best candidate must reach ``accept``; a runner-up (another
    record) within ``margin`` makes it ambiguous; a record that is the best of several
    entities goes to the best one only; a subject already mapped (in another mapping
    set, *existing*: subject → {object: file}) to a different record of the same
    namespace goes to review. Accepted links are ``skos:exactMatch``, or
    ``skos:closeMatch`` when the record is no longer active (a former organisation).
    """
    thresholds = thresholds or Thresholds()
    existing = existing or {}
    # Claims are settled best first: an entity whose best record goes to a
    # better-scoring entity falls back on its next record (one record, one entity).
    queue = {e.iri: list(candidates.get(e.iri, [])) for e in entities}
    taken: dict[str, Decision] = {}
    accepted_by_entity: dict[str, Decision] = {}
    review: list[Decision] = []
    lost: dict[str, list[Decision]] = defaultdict(list)
    pending = [e.iri for e in entities if queue[e.iri]]
    while pending:
        proposals: dict[str, Decision] = {}
        for iri in pending:
            claim = _claim(queue[iri], thresholds, existing, fallback=bool(lost[iri]))
            if isinstance(claim, Decision):
                proposals[iri] = claim
            else:  # stopped: why, and the records it lost to better entities
                review.extend(claim)
                review.extend(lost.pop(iri, []))
        pending = []
        by_target: dict[str, list[Decision]] = defaultdict(list)
        for decision in proposals.values():
            by_target[decision.candidate.target.iri].append(decision)
        for target_iri, claims in sorted(by_target.items()):
            holder = taken.get(target_iri)
            if holder is not None:
                claims.append(holder)
            claims.sort(key=lambda d: _rank(d.candidate))
            top = claims[0].candidate.score
            winners = [d for d in claims if d.candidate.score == top]
            if len(winners) == 1:
                taken[target_iri] = winners[0]
                accepted_by_entity[winners[0].candidate.entity.iri] = winners[0]
                losers = claims[1:]
            else:
                taken.pop(target_iri, None)
                losers = claims
            for loser in losers:
                iri = loser.candidate.entity.iri
                accepted_by_entity.pop(iri, None)
                others = [c.candidate.entity.iri for c in claims if c is not loser]
                lost[iri].append(
                    replace(
                        loser,
                        accepted=False,
                        reason=f"{target_iri} is also the best match of "
                        + ", ".join(others),
                    )
                )
                rest = [c for c in queue[iri] if c.target.iri != target_iri]
                queue[iri] = rest
                if len(winners) == 1 and rest:
                    pending.append(iri)
                else:
                    review.extend(lost.pop(iri))
    for decisions in lost.values():
        if decisions and decisions[0].candidate.entity.iri not in accepted_by_entity:
            review.extend(decisions)
    accepted = list(accepted_by_entity.values())
    linked = {d.candidate.entity.iri for d in (*accepted, *review)}
    return LinkResult(
        tuple(sorted(accepted, key=_decision_key)),
        tuple(sorted(review, key=_decision_key)),
        tuple(e for e in entities if e.iri not in linked),
    )


def _claim(
    found: list[Candidate],
    thresholds: Thresholds,
    existing: dict[str, dict[str, str]],
    *,
    fallback: bool,
) -> Decision | list[Decision]:
    """The entity's claim on its best remaining record, or the review items that say
    why it has none (none at all for a score below ``review``; a *fallback* — the
    entity lost its better records — below ``accept`` adds nothing to what it lost)."""
    if not found:
        return []
    top = found[0]
    predicate = "skos:exactMatch" if top.target.active else "skos:closeMatch"
    rivals = [
        c
        for c in found[1:]
        if c.target.iri != top.target.iri
        and c.score >= top.score - thresholds.margin
        and (c.target.active or not top.target.active)
    ]
    if top.score < thresholds.review:
        return []
    if top.score < thresholds.accept:
        below = Decision(top, predicate, False, "score below the threshold")
        return [] if fallback else [below]
    if rivals:
        others = ", ".join(c.target.iri for c in rivals)
        return [
            Decision(c, predicate, False, f"ambiguous: also {others}")
            for c in (top, *rivals)
        ]
    conflict = _conflict(top.entity.iri, top.target.iri, existing)
    if conflict:
        return [Decision(top, predicate, False, conflict)]
    agrees = existing.get(top.entity.iri, {}).get(top.target.iri)
    if agrees:
        top = replace(
            top, evidence=(*top.evidence, f"agrees with the mapping in {agrees}")
        )
    return Decision(top, predicate, True)


def _decision_key(decision: Decision) -> tuple[str, float, str]:
    c = decision.candidate
    return (c.entity.iri, -c.score, c.target.iri)


def _namespace(iri: str) -> str:
    return re.sub(r"[^/#]*$", "", iri)


def _conflict(subject: str, target: str, existing: dict[str, dict[str, str]]) -> str:
    for other, where in sorted(existing.get(subject, {}).items()):
        if other != target and _namespace(other) == _namespace(target):
            return f"already mapped to {other} in {where}"
    return ""


def existing_mappings(
    links_dir: Path, *, exclude: Path | None = None
) -> dict[str, dict[str, str]]:
    """Subject → {object: file name} of every ``*.sssom.tsv`` in *links_dir* except
    *exclude* (rows a curator negated with ``predicate_modifier: Not`` excepted).

    Raises:
        LoadError: a mapping file is malformed.
    """
    found: dict[str, dict[str, str]] = defaultdict(dict)
    if not links_dir.is_dir():
        return found
    for path in sorted(links_dir.glob("*.sssom.tsv")):
        if exclude is not None and path.resolve() == exclude.resolve():
            continue
        mapping_set = read_sssom(path)
        for row in mapping_set.rows:
            if row.get("predicate_modifier", "").lower() == "not":
                continue
            try:
                subject = str(expand(row["subject_id"], mapping_set.curie_map))
                obj = str(expand(row["object_id"], mapping_set.curie_map))
            except ValueError as error:
                raise LoadError(path, str(error)) from error
            found[subject][obj] = path.name
    return found
