"""The reconciliation index: entities by every name form, scored candidates, suggest
and data extension (see :mod:`mededkg.matching.reconcile`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from rapidfuzz import fuzz, process

from mededkg.matching import gazetteer, similarity
from mededkg.matching.names import normalise
from mededkg.matching.reconcile.model import (
    CONFLICT_FACTOR,
    FEATURES,
    IDENTIFIER_WEIGHT,
    MATCH_MARGIN,
    MATCH_SCORE,
    MIN_SCORE,
    NAME_WEIGHT,
    ONTOLOGY,
    PREFILTER,
    PROPERTIES,
    PROPERTY_BY_ID,
    PROPERTY_WEIGHT,
    RDF_TYPE,
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
    most_specific,
    province_code,
    province_name,
    short_id,
    split_names,
    type_infos,
)


class Index:
    """Every reconcilable entity, its names and values, ready to match.

    Build it once per store version with :meth:`build`; it is read-only afterwards
    and safe to share between threads.
    """

    def __init__(
        self,
        base_iri: str,
        entities: Mapping[str, Entity],
        types: Mapping[str, TypeInfo],
        referents: Mapping[str, tuple[str, str]],
        notations: Mapping[str, str] | None = None,
    ) -> None:
        self.base_iri = base_iri
        self.entities = dict(entities)
        self.types = dict(types)
        #: IRI of a linked resource → (its id, its name).
        self.referents = dict(referents)
        #: IRI of a linked resource → its notation (catalogue editions: ``2022``).
        self.notations = dict(notations or {})
        self._keys: list[str] = []
        self._names: list[similarity.NameKeys] = []
        self._owners: list[str] = []
        #: exact-key lookups that find a name whatever the fuzzy prefilter says:
        #: folded name, pinyin, reading (kind + proper part).
        self._lookup: dict[object, list[int]] = {}
        self._located: dict[str, frozenset[str]] = {}
        for entity in self.entities.values():
            self._located[entity.id] = frozenset(
                gazetteer.place_key(v)
                for p in (ONTOLOGY + "city", ONTOLOGY + "province")
                for v in entity.literals(p)
            )
            for name in entity.names():
                keys = similarity.keys([name])
                if not keys:
                    continue
                position = len(self._owners)
                self._keys.append(keys[0].norm)
                self._names.append(keys[0])
                self._owners.append(entity.id)
                for lookup in _lookups(keys[0]):
                    self._lookup.setdefault(lookup, []).append(position)

    # -- building ----------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        base_iri: str,
        entities: Iterable[Statement],
        types: Iterable[Statement],
        referents: Iterable[Statement],
    ) -> Index:
        """Build the index from the rows of the three index queries.

        Args:
            base_iri: base of the resource IRIs; ids are IRIs without it.
            entities: statements about the entities (names, types, values).
            types: labels, definitions and superclasses of the classes.
            referents: names and notations of the resources the entities link to.
        """
        found: dict[str, Entity] = {}
        for s in entities:
            entity = found.get(s.subject)
            if entity is None:
                entity = found[s.subject] = Entity(
                    short_id(base_iri, s.subject), s.subject
                )
            if s.predicate == RDF_TYPE:
                if s.value.startswith(ONTOLOGY):
                    entity.types.add(s.value[len(ONTOLOGY) :])
                continue
            entity.values.setdefault(s.predicate, []).append(s)
        infos = type_infos(types)
        for entity in found.values():
            entity.kinds = most_specific(entity.types, infos)
            entity.provinces = _provinces(entity)
            entity.places, entity.located = _places(entity)
        names: dict[str, dict[str, str]] = {}
        notations: dict[str, str] = {}
        for s in referents:
            if s.predicate == SKOS + "notation":
                notations[s.subject] = s.value
            else:
                names.setdefault(s.subject, {}).setdefault(
                    s.lang.split("-")[0], s.value
                )
        labelled = {
            iri: (
                short_id(base_iri, iri),
                labels.get("zh") or labels.get("en") or next(iter(labels.values())),
            )
            for iri, labels in names.items()
        }
        for iri, notation in notations.items():
            labelled.setdefault(iri, (short_id(base_iri, iri), notation))
        by_id = {e.id: e for e in found.values()}
        return cls(base_iri, by_id, infos, labelled, notations)

    # -- lookups -----------------------------------------------------------------------
    def entity(self, id_or_iri: str) -> Entity | None:
        """The entity with this id (or full IRI), or ``None``."""
        return self.entities.get(short_id(self.base_iri, id_or_iri))

    def type_id(self, id_or_iri: str) -> str:
        """A type id from an id, a ``mededkg:`` name or a full IRI.

        Raises:
            ReconcileError: the service knows no such type.
        """
        local = id_or_iri.removeprefix(ONTOLOGY).removeprefix("mededkg:")
        if local not in self.types:
            known = ", ".join(sorted(self.types))
            raise ReconcileError(f"unknown type {id_or_iri!r}; known types: {known}")
        return local

    def describe(self, entity: Entity, lang: str = "zh") -> str:
        """A one-line description that tells namesakes apart: kind, place, codes.

        The kind and the place follow *lang*; codes are the same in both.
        """
        parts = [self.types[k].name(lang) for k in entity.kinds if k in self.types]
        place = [province_name(code, lang) for code in sorted(entity.provinces)][:1]
        cities = entity.literals(ONTOLOGY + "city", lang) or entity.literals(
            ONTOLOGY + "city"
        )
        for city in cities[:1]:
            if not place or gazetteer.place_key(city) != gazetteer.place_key(place[0]):
                place.append(city)
        if place:
            parts.append(" ".join(place))
        for predicate, label in (
            (ONTOLOGY + "moeCode", "MOE"),
            (ONTOLOGY + "rorId", "ROR"),
            (SKOS + "notation", ""),
        ):
            for value in entity.literals(predicate)[:1]:
                parts.append(f"{label} {value}".strip())
        for scheme in entity.values.get(SKOS + "inScheme", [])[:1]:
            parts.append(self.notations.get(scheme.value, ""))
        affiliated = entity.values.get(ONTOLOGY + "affiliatedWith", [])
        for link in affiliated[:1]:
            other = self.entity(link.value)
            if other is not None:
                parts.append(("→ " if lang == "en" else "附属于 ") + other.name(lang))
        return " · ".join(p for p in parts if p)

    # -- reconciliation ----------------------------------------------------------------
    def reconcile(self, query: Query) -> list[Candidate]:
        """The best candidates for *query*, best first.

        A candidate's score is the best ``rapidfuzz`` similarity (0–100) of the query
        to one of its normalised names, averaged with 100 for each property value
        that agrees and 0 for each that disagrees (weights :data:`NAME_WEIGHT`,
        :data:`PROPERTY_WEIGHT`, :data:`IDENTIFIER_WEIGHT`; a property the candidate
        has no value for does not count; a query by properties alone is scored by
        them alone). ``match`` is true only
        for a top candidate that scores at least :data:`MATCH_SCORE`, leads the next
        by :data:`MATCH_MARGIN`, has no disagreeing property, and owes its score to
        its name (or to an agreeing identifier), not to places alone.

        A candidate whose places conflict with those the query names
        (:func:`mededkg.matching.gazetteer.compare`: "Henan …" against 湖南中医药大学)
        is a different institution however close the names: its score is multiplied by
        :data:`CONFLICT_FACTOR`, it ranks below every candidate without a conflict
        and it is never a ``match``.

        Raises:
            ReconcileError: an unknown type or property id.
        """
        types = tuple(self.type_id(t) for t in query.types)
        for constraint in query.constraints:
            self.property(constraint.pid)
        by_name = bool(query.text.strip())
        if by_name:
            named = self._name_scores(query.text)
        else:
            named = dict.fromkeys(self.entities, similarity.Similarity(0.0, ""))
        query_places = gazetteer.places_in(query.text) if by_name else frozenset()
        ranked: list[tuple[bool, float, str, bool, dict[str, float | bool], list[str]]]
        ranked = []
        for entity_id, alike in named.items():
            entity = self.entities[entity_id]
            if types and not self._has_types(entity, types, query.type_strict):
                continue
            verdict = self._verdict(entity, query.constraints)
            features: dict[str, float | bool] = {"name": round(alike.score, 2)}
            why = [alike.why] if alike.why else []
            if types:
                has_type = bool(entity.types.intersection(types))
                features["type"] = has_type
                if query.type_strict == "should":
                    verdict.add(has_type, PROPERTY_WEIGHT)
            if not by_name and not verdict.agree:
                continue
            weight = NAME_WEIGHT if by_name else 0.0
            score = (alike.score * weight + verdict.points) / (weight + verdict.weight)
            if score < MIN_SCORE and by_name:
                continue
            places = gazetteer.compare(
                query_places, entity.places, candidate_located=entity.located
            )
            conflict = places == gazetteer.CONFLICT
            features["place"] = (
                -1 if conflict else (0 if places == gazetteer.NONE else 1)
            )
            if conflict:
                score *= CONFLICT_FACTOR
                why.append("the places the query names are not the candidate's")
            elif places != gazetteer.NONE:
                why.append("the places the query names are the candidate's")
            if verdict.weight:
                share = 100.0 * verdict.agree / (verdict.agree + verdict.disagree)
                features["properties"] = round(share, 2)
                why.append(
                    f"{verdict.agree} of {verdict.agree + verdict.disagree} property "
                    "values agree"
                )
            features["identifier"] = verdict.identifier
            if verdict.identifier:
                why.append("an identifier the query gives is the candidate's")
            sure = not conflict and not verdict.disagree
            sure = sure and (alike.score >= MATCH_SCORE or verdict.identifier)
            ranked.append((conflict, score, entity_id, sure, features, why))
        ranked.sort(key=lambda r: (r[0], -r[1], r[2]))
        candidates: list[Candidate] = []
        for position, (_, score, entity_id, sure, features, why) in enumerate(
            ranked[: query.limit]
        ):
            unique = len(ranked) == 1 or score - ranked[1][1] >= MATCH_MARGIN
            features["unique"] = position == 0 and unique
            match = position == 0 and sure and unique and score >= MATCH_SCORE
            candidates.append(
                Candidate(
                    self.entities[entity_id],
                    round(score, 2),
                    match,
                    {f: features[f] for f in FEATURES if f in features},
                    tuple(why),
                )
            )
        return candidates

    def _name_scores(self, text: str) -> dict[str, similarity.Similarity]:
        """The best name similarity (0–100, :func:`mededkg.matching.similarity.pair`)
        of each entity that has one above the cut-off, with why.

        The names compared are those a ``rapidfuzz`` prefilter ranks among the
        :data:`PREFILTER` most alike (ratio and token-sort ratio of the normalised
        names) and every name with the query's folded form, pinyin or reading."""
        query = similarity.keys([text])
        if not query:
            return {}
        key = query[0]
        scorers = (fuzz.ratio,) if key.chinese else (fuzz.ratio, fuzz.token_sort_ratio)
        prefilter = self._scores(key.norm, self._keys, scorers)
        positions = set(sorted(prefilter, key=prefilter.__getitem__)[-PREFILTER:])
        for lookup in _lookups(key, query=True):
            positions.update(self._lookup.get(lookup, ()))
        best: dict[str, similarity.Similarity] = {}
        for position in positions:
            owner = self._owners[position]
            found = similarity.pair(key, self._names[position], self._located[owner])
            if found.score >= MIN_SCORE / 2 and found.score > getattr(
                best.get(owner), "score", -1.0
            ):
                best[owner] = found
        return best

    @staticmethod
    def _scores(
        key: str, keys: list[str], scorers: Sequence[Callable[..., float]]
    ) -> dict[int, float]:
        found: dict[int, float] = {}
        for scorer in scorers:
            for _, score, position in process.extract(
                key, keys, scorer=scorer, limit=PREFILTER, score_cutoff=MIN_SCORE / 2
            ):
                found[position] = max(found.get(position, 0.0), float(score))
        return found

    @staticmethod
    def _has_types(entity: Entity, types: Sequence[str], strict: str) -> bool:
        if strict == "all":
            return all(t in entity.types for t in types)
        if strict == "should":
            return True
        return any(t in entity.types for t in types)

    def _verdict(self, entity: Entity, constraints: Sequence[Constraint]) -> Verdict:
        """How the property constraints of a query judge *entity*."""
        verdict = Verdict()
        for constraint in constraints:
            prop = self.property(constraint.pid)
            agrees = self._agrees(entity, prop, constraint.values)
            if agrees is None:
                continue
            heavy = prop.kind == "id"
            verdict.add(agrees, IDENTIFIER_WEIGHT if heavy else PROPERTY_WEIGHT)
            verdict.identifier = verdict.identifier or (heavy and agrees)
        return verdict

    def _agrees(
        self, entity: Entity, prop: Property, wanted: Sequence[str]
    ) -> bool | None:
        """True if the entity has one of the *wanted* values, False if it has other
        values, None if it has none (nothing to compare)."""
        if prop.id == "province":
            codes = {province_code(w) for w in wanted} - {None}
            if codes and entity.provinces:
                return bool(codes & entity.provinces)
        if prop.kind == "type":
            have_types = entity.types
            if not have_types:
                return None
            return any(
                w.removeprefix(ONTOLOGY).removeprefix("mededkg:") in have_types
                for w in wanted
            )
        have = [
            s.value
            for s in entity.values.get(prop.predicate, [])
            if not prop.lang or s.lang.split("-")[0] == prop.lang
        ]
        if not have:
            return None
        if prop.kind == "entity":
            wanted_ids = {short_id(self.base_iri, w) for w in wanted}
            if wanted_ids & {short_id(self.base_iri, h) for h in have}:
                return True
            names = [self.referents.get(h, ("", ""))[1] for h in have]
            names += [self.notations[h] for h in have if h in self.notations]
            return _any_similar(wanted, names)
        if prop.kind == "id":
            return bool(
                {w.strip().casefold() for w in wanted} & {h.casefold() for h in have}
            )
        if prop.id in ("province", "city"):
            places = {gazetteer.place_key(h) for h in have}
            return any(gazetteer.place_key(w) in places for w in wanted)
        names = [n for h in have for n in split_names(h)]
        return _any_similar(wanted, names)

    # -- suggest and extension ---------------------------------------------------------
    def property(self, pid: str) -> Property:
        """The property with this id (or ``mededkg:`` name, or predicate IRI).

        Raises:
            ReconcileError: no such property.
        """
        found = PROPERTY_BY_ID.get(pid.removeprefix("mededkg:"))
        if found is None:
            found = next((p for p in PROPERTIES if p.predicate == pid), None)
        if found is None:
            known = ", ".join(PROPERTY_BY_ID)
            raise ReconcileError(f"unknown property {pid!r}; known properties: {known}")
        return found

    def suggest_entities(
        self,
        prefix: str,
        *,
        types: Sequence[str] = (),
        limit: int = 10,
        offset: int = 0,
    ) -> list[Entity]:
        """Entities with a name that starts with (then contains) *prefix*, then
        those whose Chinese name's pinyin starts with it (``shoudu`` or ``Shǒudū``
        finds 首都医科大学); names are compared as :mod:`mededkg.matching.names`
        normalises them (case, width, traditional characters, tone marks).

        Raises:
            ReconcileError: an unknown type id.
        """
        wanted = tuple(self.type_id(t) for t in types)
        key = normalise(prefix)
        if not key:
            return []
        ranked: dict[str, tuple[int, int]] = {}
        for name, owner in zip(self._names, self._owners, strict=True):
            rank = similarity.completion_rank(key, name)
            if rank is None:
                continue
            if owner not in ranked or rank < ranked[owner]:
                ranked[owner] = rank
        ids = sorted(ranked, key=lambda e: (ranked[e], e))
        if wanted:
            ids = [e for e in ids if self.entities[e].types.intersection(wanted)]
        return [self.entities[e] for e in ids[offset : offset + limit]]

    def suggest_types(self, prefix: str, *, limit: int = 10) -> list[TypeInfo]:
        """Types whose id or name (in either language) contains *prefix*."""
        key = normalise(prefix)
        found = [
            t
            for t in self.types.values()
            if any(key in normalise(n) for n in (t.id, *t.names.values()))
        ]
        found.sort(key=lambda t: (not normalise(t.name()).startswith(key), t.id))
        return found[:limit]

    def suggest_properties(self, prefix: str, *, limit: int = 10) -> list[Property]:
        """Properties whose id or name contains *prefix*."""
        key = normalise(prefix)
        return [
            p
            for p in PROPERTIES
            if key in normalise(p.id)
            or key in normalise(p.name)
            or key in normalise(p.description)
        ][:limit]

    def propose_properties(
        self, type_id: str = "", *, limit: int = 20
    ) -> list[Property]:
        """The properties at least one entity of the type has, in table order.

        Raises:
            ReconcileError: an unknown type id.
        """
        wanted = self.type_id(type_id) if type_id else ""
        entities = [
            e for e in self.entities.values() if not wanted or wanted in e.types
        ]
        return [p for p in PROPERTIES if any(self.cells(e, p) for e in entities)][
            :limit
        ]

    def cells(self, entity: Entity, prop: Property) -> list[Cell]:
        """The values of *prop* for *entity*, as data extension returns them.

        A province the graph does not state is read from the MOE code.
        """
        if prop.kind == "type":
            return [Cell(self.types[k].name("en"), k) for k in entity.kinds]
        values = [
            s
            for s in entity.values.get(prop.predicate, [])
            if not prop.lang or s.lang.split("-")[0] == prop.lang
        ]
        if prop.kind == "entity":
            return [
                Cell(
                    self.referents.get(s.value, ("", s.value))[1],
                    short_id(self.base_iri, s.value),
                )
                for s in values
            ]
        if prop.id == "province" and not values:
            return [Cell(province_name(c, "zh")) for c in sorted(entity.provinces)]
        if prop.id in ("nameZh", "nameEn"):
            return [Cell(n) for s in values for n in split_names(s.value)]
        return [Cell(s.value) for s in values]


# --- helpers -------------------------------------------------------------------------
def _lookups(key: similarity.NameKeys, *, query: bool = False) -> list[object]:
    """The exact keys a name is filed under (or, for a *query*, looked up by) besides
    the fuzzy prefilter: its folded form; its pinyin and reading, which find names
    in the other script (a Chinese query finds its transliteration)."""
    found: list[object] = [("fold", key.folded)] if key.folded else []
    script = key.chinese != query
    if key.pinyin:
        found.append(("pinyin", key.pinyin, script))
    if key.reading[1]:
        found.append(("reading", key.reading, script))
    return found


def _any_similar(wanted: Iterable[str], have: Iterable[str]) -> bool:
    keys = [normalise(h) for h in have]
    return any(fuzz.ratio(normalise(w), k) >= MATCH_SCORE for w in wanted for k in keys)


def _provinces(entity: Entity) -> frozenset[str]:
    """Province codes of an entity: stated, or read from its MOE code (GB/T 2260
    digits 2–3), or from a city that is itself a province-level municipality."""
    codes = {province_code(p) for p in entity.literals(ONTOLOGY + "province")}
    for code in entity.literals(ONTOLOGY + "moeCode"):
        if len(code) == 10 and code.isdigit():
            codes.add(code[2:4])
    for city in entity.literals(ONTOLOGY + "city"):
        codes.add(province_code(city))
    known = set(gazetteer.default().codes.values())
    return frozenset(c for c in codes if c and c in known)


def _places(
    entity: Entity,
) -> tuple[frozenset[gazetteer.Place], frozenset[gazetteer.Place]]:
    """The gazetteer places an entity's names name, and those it is located in: its
    province (stated or from its MOE code) and its city."""
    g = gazetteer.default()
    named: set[gazetteer.Place] = set()
    for text in entity.names():
        named |= g.places_in(text)
    located: set[gazetteer.Place] = set()
    for city in entity.literals(ONTOLOGY + "city"):
        located |= g.places_in(city)
    for code in entity.provinces:
        province = g.province(code)
        if province:
            located.add(province)
    return frozenset(named), frozenset(located)
