"""Name completion for the query editor: ``GET /api/complete?q=`` finds entities,
classes and properties by any of their names — Chinese, English, pinyin with or
without tone marks, traditional characters — ranked by the one completion ranking
(:func:`mededkg.matching.similarity.completion_rank`).

Entities come from the reconciliation index (:func:`webapp.reconcile.current_index`);
classes and properties from the page query ``complete-terms`` (the ontology's
declared terms and their ``rdfs:label`` in zh and en), read once per store version.
With ``class=`` (the IRI of the class of the subject being written), the properties
the graph uses with that class come first; they are asked once per class and store
version through the normal query gate (page query ``complete-class-properties``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Blueprint, Response, abort, current_app, jsonify, request

from mededkg.matching import similarity
from mededkg.matching.names import normalise
from mededkg.query.sandbox import Overloaded
from webapp.context import state
from webapp.pages import select, select_all
from webapp.reconcile import current_index

bp = Blueprint("completion", __name__)

#: Key of the completion cache in ``app.extensions``.
EXTENSION = "mededkg.completion"
#: Items in one answer by default, and at most.
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
#: Entities looked at before keeping those in the wanted namespace.
ENTITY_POOL = 500
#: The kinds of item, in the order they are listed when they rank alike.
KINDS = ("property", "class", "entity")
Rank = tuple[int, int]


@dataclass(frozen=True)
class Term:
    """A class or property of the vocabulary with its labels by language."""

    iri: str
    kind: str
    labels: dict[str, str]

    def names(self) -> list[str]:
        """Its labels and its local name (``Hospital``, ``affiliatedWith``)."""
        return [*self.labels.values(), local_name(self.iri)]

    def label(self, lang: str) -> str:
        """Its label in *lang*, else in another language, else its local name."""
        return self.labels.get(lang) or next(
            iter(self.labels.values()), local_name(self.iri)
        )


@dataclass
class Cache:
    """The vocabulary terms and the properties used with each class, per store
    version."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    key: object = None
    terms: dict[str, Term] = field(default_factory=dict)
    used: dict[str, list[str]] = field(default_factory=dict)


def local_name(iri: str) -> str:
    """The part of *iri* after its last ``#`` or ``/``.

    >>> local_name("https://w3id.org/mededkg/ontology#Hospital")
    'Hospital'
    """
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


@bp.route("/api/complete")
def complete() -> Response:
    """Entities, classes and properties whose names complete ``q``.

    Parameters: ``q`` (the typed text; may be empty with ``class``), ``ns`` (keep
    IRIs in this namespace), ``kind`` (repeatable: ``entity``, ``class``,
    ``property``), ``class`` (rank the properties used with this class first),
    ``lang`` (the language of ``label``), ``limit``.

    Returns:
        ``{"q": ..., "results": [{"iri", "kind", "label", "labels", "used"}]}``,
        best first; ``used`` is true for a property the graph uses with ``class``.

    Raises:
        400: a bad ``kind`` or ``limit``; neither ``q`` nor ``class``.
    """
    typed = normalise(request.args.get("q", ""))
    subject_class = request.args.get("class", "").strip()
    if not typed and not subject_class:
        abort(400, "completion needs a non-empty 'q' (or a 'class')")
    if subject_class and not _is_iri(subject_class):
        abort(400, f"'class' must be an absolute IRI, not {subject_class!r}")
    kinds = request.args.getlist("kind") or list(KINDS)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        abort(400, f"unknown kind {unknown[0]!r}; kinds are {', '.join(KINDS)}")
    namespace = request.args.get("ns", "")
    lang = "zh" if request.args.get("lang", "en").startswith("zh") else "en"
    limit = _limit()
    used = _used_properties(subject_class) if subject_class else []
    found: list[tuple[tuple[int, Rank, int, str], dict[str, object]]] = []
    for term in _terms().values():
        if term.kind not in kinds or not term.iri.startswith(namespace):
            continue
        rank = _best_rank(typed, term.names())
        if rank is not None:
            first = 0 if term.iri in used else 1
            item = _item(term.iri, term.kind, term.labels, lang, term.iri in used)
            found.append(((first, rank, KINDS.index(term.kind), term.iri), item))
    if "property" in kinds:
        for iri in used:
            if iri not in _terms() and iri.startswith(namespace):
                rank = _best_rank(typed, [local_name(iri)])
                if rank is not None:
                    item = _item(iri, "property", {}, lang, True)
                    found.append(((0, rank, 0, iri), item))
    if "entity" in kinds and typed:
        found.extend(_entities(typed, namespace, lang))
    found.sort(key=lambda pair: pair[0])
    return jsonify(
        {"q": request.args.get("q", ""), "results": [i for _, i in found[:limit]]}
    )


def _entities(
    typed: str, namespace: str, lang: str
) -> list[tuple[tuple[int, Rank, int, str], dict[str, object]]]:
    """The entities of the reconciliation index that complete *typed*."""
    index = current_index()
    found = []
    for entity in index.suggest_entities(typed, limit=ENTITY_POOL):
        if not entity.iri.startswith(namespace):
            continue
        rank = _best_rank(typed, entity.names())
        if rank is None:
            continue
        labels = {
            language: entity.name(language)
            for language in ("zh", "en")
            if entity.names(language)
        }
        item = _item(entity.iri, "entity", labels, lang, False)
        found.append(((1, rank, KINDS.index("entity"), entity.iri), item))
    return found


def _best_rank(typed: str, names: list[str]) -> Rank | None:
    """The best completion rank of any of *names* for *typed* (``(0, 0)`` when
    nothing is typed: everything completes the empty text)."""
    if not typed:
        return (0, 0)
    ranks = [
        r
        for k in similarity.keys(names)
        if (r := similarity.completion_rank(typed, k)) is not None
    ]
    return min(ranks, default=None)


def _item(
    iri: str, kind: str, labels: dict[str, str], lang: str, used: bool
) -> dict[str, object]:
    other = "en" if lang == "zh" else "zh"
    label = labels.get(lang) or labels.get(other) or local_name(iri)
    return {"iri": iri, "kind": kind, "label": label, "labels": labels, "used": used}


def _is_iri(text: str) -> bool:
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return ":" in text


def _limit() -> int:
    raw = request.args.get("limit", "")
    if not raw:
        return DEFAULT_LIMIT
    if not raw.isdigit() or int(raw) == 0:
        abort(400, "'limit' must be a positive whole number")
    return min(int(raw), MAX_LIMIT)


# --- the cached vocabulary ----------------------------------------------------------
def _cache() -> Cache:
    """The cache of the store the app serves now (emptied when the store moves)."""
    cache = current_app.extensions.setdefault(EXTENSION, Cache())
    assert isinstance(cache, Cache)
    key = state().store_version
    with cache.lock:
        if cache.key != key:
            cache.key, cache.terms, cache.used = key, {}, {}
    return cache


def _terms() -> dict[str, Term]:
    """The declared classes and properties with their labels, read once per store
    version."""
    cache = _cache()
    with cache.lock:
        if not cache.terms:
            cache.terms = _read_terms()
        return cache.terms


def _read_terms() -> dict[str, Term]:
    found: dict[str, Term] = {}
    for row in select_all("complete-terms"):
        term, kind = row["term"].value, row["kind"].value
        entry = found.setdefault(term, Term(term, kind, {}))
        label = row.get("label")
        if isinstance(label, ox.Literal):
            entry.labels.setdefault((label.language or "en").split("-")[0], label.value)
    return found


def _used_properties(class_iri: str) -> list[str]:
    """The predicates the graph uses on instances of *class_iri*, most used first;
    asked once per class through the query gate. Empty (and not remembered) when
    the client's share of the query workers is busy: completion never waits."""
    cache = _cache()
    with cache.lock:
        if class_iri in cache.used:
            return cache.used[class_iri]
    try:
        rows = select("complete-class-properties", **{"class": ox.NamedNode(class_iri)})
    except Overloaded:
        return []
    used = [row["p"].value for row in rows if isinstance(row.get("p"), ox.NamedNode)]
    with cache.lock:
        cache.used[class_iri] = used
    return used
