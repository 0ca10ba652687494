"""Step 3: the matcher — blocking keys, then the shared name comparison
(:mod:`mededkg.matching.similarity`) and web-domain, acronym and place evidence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from mededkg.matching import gazetteer, lexicon, names, similarity
from mededkg.matching.link.model import Candidate, Entity, TargetRecord

#: With a word table, how much the agreement of an entity's Chinese name with a
#: record's English name (:func:`mededkg.matching.lexicon.translation`, 0–1) moves a
#: score: up above the centre, down below it. Chosen on the tuning half of
#: bench/link_quality.py's MOE ↔ ROR gold set (weights 0.1–0.4, centres 0.3/0.5).
TRANSLATION_WEIGHT = 0.2
TRANSLATION_CENTRE = 0.3
#: Off the score of a record that says it is another kind of organisation than the
#: entities are (a ROR "government" or "facility" record for a university): two
#: records named alike — the Chinese Academy of Sciences and its university — are
#: told apart by what they are. Chosen on the tuning half, like the above.
KIND_PENALTY = 0.05


# --- 3. matching -----------------------------------------------------------------
class Matcher:
    """Scores streamed target records against an index of the entities.

    With *words* (a :class:`mededkg.matching.lexicon.Lexicon`), how well an entity's
    Chinese name translates a record's English name moves the score
    (:data:`TRANSLATION_WEIGHT`). With *kinds* (the record kinds the entities can
    be, e.g. ROR's ``education`` for institutions), a record that names its kinds
    and none of them loses :data:`KIND_PENALTY`.

    The entities (hundreds to a few thousand) are indexed by blocking keys; each
    target record is compared only with the entities it shares a key with, and only
    the best *keep* candidates per entity are kept — so the target can be any size.
    """

    def __init__(
        self,
        entities: Sequence[Entity],
        *,
        keep: int = 5,
        use_domains: bool = True,
        words: lexicon.Lexicon | None = None,
        kinds: Iterable[str] = (),
    ) -> None:
        self.entities = list(entities)
        self.words = words
        self.kinds = frozenset(kinds)
        self._chinese = [
            tuple(n for n in e.names if names.is_chinese(n)) for e in self.entities
        ]
        self.keep = keep
        self.use_domains = use_domains
        self._keys = [similarity.keys(e.names) for e in self.entities]
        self._places = [_places_of(e.names, e.places) for e in self.entities]
        self._acronyms = [
            {a.upper() for a in e.acronyms}
            | {names.acronym(n) for n in e.names if len(names.acronym(n)) >= 3}
            for e in self.entities
        ]
        self._index: dict[str, set[int]] = defaultdict(set)
        for i, entity in enumerate(self.entities):
            for text in entity.names:
                for token in _blocking_keys(text):
                    self._index[token].add(i)
            if use_domains:
                for domain in entity.domains:
                    self._index["@" + domain].add(i)
        self._found: dict[int, list[Candidate]] = defaultdict(list)
        self.records = 0

    def add(self, record: TargetRecord) -> None:
        """Score one target record against the entities it shares a key with."""
        self.records += 1
        keys: set[str] = set()
        for text in record.names:
            keys |= _blocking_keys(text)
        if self.use_domains:
            keys |= {"@" + d for d in record.domains}
        hits: set[int] = set()
        for key in keys:
            hits |= self._index.get(key, set())
        if not hits:
            return
        record_keys = similarity.keys(record.names)
        aliases = frozenset(names.normalise(a) for a in record.aliases)
        record_places = _places_of(record.names, record.places)
        for i in hits:
            candidate = self._score(i, record, record_keys, aliases, record_places)
            if candidate is None:
                continue
            found = self._found[i]
            found.append(candidate)
            if len(found) > 2 * self.keep:
                found.sort(key=_rank)
                del found[self.keep :]

    def add_all(self, records: Iterable[TargetRecord]) -> Matcher:
        """Add every record; returns the matcher."""
        for record in records:
            self.add(record)
        return self

    def candidates(self) -> dict[str, list[Candidate]]:
        """The best candidates of each entity (by IRI), best first."""
        return {
            self.entities[i].iri: sorted(found, key=_rank)[: self.keep]
            for i, found in sorted(self._found.items())
        }

    def _score(
        self,
        i: int,
        record: TargetRecord,
        record_keys: Sequence[similarity.NameKeys],
        aliases: frozenset[str],
        record_places: tuple[frozenset[gazetteer.Place], frozenset[gazetteer.Place]],
    ) -> Candidate | None:
        entity = self.entities[i]
        named, located = self._places[i]
        places = gazetteer.compare(
            named,
            record_places[0],
            query_located=located,
            candidate_located=record_places[1],
        )
        if places == gazetteer.CONFLICT:
            return None  # the names name places that rule each other out
        named_alike = similarity.best(
            self._keys[i],
            record_keys,
            aliases=aliases,
            places=frozenset(record.places) | frozenset(entity.places),
        )
        score = named_alike.score / 100
        evidence = [named_alike.why] if named_alike.why else []
        if self.use_domains and entity.domains and record.domains:
            shared = sorted(set(entity.domains) & set(record.domains))
            if shared:
                score += 0.25
                evidence.append(f"web domain {', '.join(shared)} in both")
        if score < 0.5:
            return None
        if self.words is not None and self._chinese[i]:
            translated = max(
                (
                    lexicon.translation(self.words, zh, en)
                    for zh in self._chinese[i]
                    for en in record.names
                    if not names.is_chinese(en)
                ),
                key=lambda t: t.coverage,
                default=None,
            )
            if translated is not None:
                score += TRANSLATION_WEIGHT * (translated.coverage - TRANSLATION_CENTRE)
                evidence.append(
                    f"translates {translated.coverage:.2f} ({translated.describe()})"
                )
        shared_acronyms = sorted(
            self._acronyms[i] & {a.upper() for a in record.acronyms}
        )
        if shared_acronyms and score >= 0.6:
            score += 0.03
            evidence.append(f"acronym {', '.join(shared_acronyms)} in both")
        entity_provinces = set(entity.places) & gazetteer.province_keys()
        record_provinces = set(record.places) & gazetteer.province_keys()
        shared_places = sorted(set(entity.places) & set(record.places))
        if shared_places:
            score += 0.03
            evidence.append(f"both located in {shared_places[0]}")
        elif entity_provinces and record_provinces:
            score -= 0.15
            evidence.append(
                f"provinces differ ({'/'.join(sorted(entity_provinces))} vs "
                f"{'/'.join(sorted(record_provinces))})"
            )
        if self.kinds and record.kinds and not self.kinds.intersection(record.kinds):
            score -= KIND_PENALTY
            evidence.append(
                f"the record is {'/'.join(record.kinds)}, not "
                f"{'/'.join(sorted(self.kinds))}"
            )
        if not record.active:
            evidence.append("the target record is no longer active")
        return Candidate(entity, record, round(score, 3), tuple(evidence))


def _blocking_keys(text: str) -> frozenset[str]:
    """The keys a name is found by: its folded tokens or Chinese bigrams
    (:func:`mededkg.matching.names.tokens`), its pinyin and its reading's proper part
    (so a Chinese name meets its transliteration and its English name)."""
    found = set(names.tokens(text))
    found.add("^" + similarity.pinyin(text))
    proper = similarity.reading(text)[1]
    if proper:
        found.add("~" + proper)
    return frozenset(found)


def _places_of(
    texts: Iterable[str], places: Iterable[str]
) -> tuple[frozenset[gazetteer.Place], frozenset[gazetteer.Place]]:
    """The gazetteer places some names name, and those some place values name."""
    named: set[gazetteer.Place] = set()
    for text in texts:
        named |= gazetteer.places_in(text)
    located: set[gazetteer.Place] = set()
    for place in places:
        located |= gazetteer.places_in(place)
    return frozenset(named), frozenset(located)


def _rank(candidate: Candidate) -> tuple[float, bool, str]:
    return (-candidate.score, not candidate.target.active, candidate.target.iri)
