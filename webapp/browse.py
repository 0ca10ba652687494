"""Browsers: institutions (filters and search), the discipline catalogue as a tree per
edition, and degree types with the academic-vs-professional master's comparison.

Each page has data twins, Datasette style: ``?format=json`` and, for tables,
``?format=csv``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import pyoxigraph as ox
from flask import Blueprint, Response, abort, jsonify, render_template, request

from mededkg.matching.names import normalise
from mededkg.matching.similarity import initials, pinyin
from mededkg.namespaces import MEDEDKG
from webapp.i18n import ui_language
from webapp.pages import (
    DEFAULT_EDITION,
    curie,
    inferred_graph,
    local_url,
    pick,
    select,
    select_named,
)
from webapp.timeline import lineages

bp = Blueprint("browse", __name__)

TWIN_FORMATS = ("html", "json", "csv")


def _twin() -> str:
    """The form asked for: ``html``, ``json`` or ``csv``.

    Raises:
        400: an unknown ``format=`` value.
    """
    name = request.args.get("format") or "html"
    if name not in TWIN_FORMATS:
        abort(400, f"unknown format {name!r}; choose one of: {', '.join(TWIN_FORMATS)}")
    return name


def _csv(
    columns: Sequence[str], rows: Sequence[dict[str, object]], name: str
) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{name}.csv"'},
    )


def _labels() -> dict[str, list[ox.Literal]]:
    """Labels of kinds, authorities, levels, orientations … by IRI."""
    found: dict[str, list[ox.Literal]] = {}
    for row in select("term-labels"):
        label = row["label"]
        if isinstance(label, ox.Literal):
            found.setdefault(row["node"].value, []).append(label)
    return found


# --- institutions -----------------------------------------------------------------
#: Rows of the institutions table per HTML page (the JSON and CSV twins give them all).
PAGE_SIZE = 250
#: What the ``teaches`` filter accepts, and what each keeps.
TEACHES = ("yes", "no", "name-rule", "units-or-hospitals")
#: The kinds that say least: an institution shows a more specific one if it has one.
GENERAL_KINDS = (
    str(MEDEDKG.HigherEducationInstitution),
    str(MEDEDKG.MedicalEducationInstitution),
)


@dataclass
class Institution:
    """One row of the institutions table."""

    iri: str
    name_zh: str = ""
    name_en: str = ""
    kind: str = ""
    kind_label: str = ""
    province: str = ""
    authority: str = ""
    authority_label: str = ""
    ror: str = ""
    teaches_medicine: str = ""
    evidence: str = ""
    evidence_labels: str = ""
    href: str = ""
    kinds: set[str] = field(default_factory=set)
    rules: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    #: the names as :func:`mededkg.matching.names.normalise` compares them
    keys: set[str] = field(default_factory=set)
    #: the Chinese name's pinyin and its initials (:mod:`mededkg.matching.similarity`)
    pinyin: tuple[str, str] = ("", "")

    def teaches(self, which: str) -> bool:
        """The ``teaches`` filter: ``yes`` (any evidence), ``no`` (an institution of
        the list with none), ``name-rule``, ``units-or-hospitals`` (evidence, but not
        the name rule); hospitals have neither answer."""
        medical = self.teaches_medicine == "yes"
        by_name = str(MEDEDKG.MedicalNameRule) in self.rules
        return {
            "": True,
            "yes": medical,
            "no": self.teaches_medicine == "no",
            "name-rule": medical and by_name,
            "units-or-hospitals": medical and not by_name,
        }[which]

    def matches(self, query: str) -> bool:
        """True if *query* is part of a Chinese or English name or of its pinyin,
        compared as the reconciliation service compares names
        (:func:`mededkg.matching.names.normalise`: case, width, traditional characters,
        tone marks and punctuation do not count)."""
        needle = normalise(query)
        compact = needle.replace(" ", "")
        return (
            not needle
            or any(needle in key for key in self.keys)
            or (bool(compact) and any(compact in p for p in self.pinyin if p))
        )


INSTITUTION_COLUMNS = (
    "iri",
    "name_zh",
    "name_en",
    "kind",
    "kind_label",
    "province",
    "authority",
    "authority_label",
    "ror",
    "teaches_medicine",
    "evidence",
)


def institutions_all(lang: str) -> list[Institution]:
    """Every institution of the MOE list, medical unit and hospital, one row each."""
    labels = _labels()
    rows: dict[str, Institution] = {}
    names: dict[str, list[ox.Literal]] = {}
    provinces: dict[str, list[ox.Literal]] = {}
    for row in select("institutions", inferred=inferred_graph()):
        iri = row["org"].value
        item = rows.get(iri)
        if item is None:
            item = rows[iri] = Institution(iri, href=local_url(iri))
        item.kinds.add(row["kind"].value)
        for key, store in (("name", names), ("province", provinces)):
            term = row.get(key)
            if isinstance(term, ox.Literal) and term not in store.get(iri, []):
                store.setdefault(iri, []).append(term)
        if "authority" in row:
            item.authority = row["authority"].value
            item.authority_label = pick(labels.get(item.authority, ()), lang)
        if "ror" in row:
            item.ror = row["ror"].value
    other_names: dict[str, set[str]] = {}
    for row in select("institution-names"):
        other_names.setdefault(row["org"].value, set()).add(row["name"].value)
    for row in select("institution-evidence"):
        item = rows.get(row["org"].value)
        if item is not None:
            item.rules.add(row["rule"].value)
    for iri, item in rows.items():
        item.kind = _most_specific(item.kinds)
        item.kind_label = pick(labels.get(item.kind, ()), lang) or curie(item.kind)
        hospital = str(MEDEDKG.Hospital) in item.kinds
        medical = item.kind != str(MEDEDKG.HigherEducationInstitution)
        item.teaches_medicine = "" if hospital else ("yes" if medical else "no")
        ordered = sorted(item.rules)
        item.evidence = " ".join(curie(r) for r in ordered)
        item.evidence_labels = " · ".join(
            pick(labels.get(r, ()), lang) or curie(r) for r in ordered
        )
        found = names.get(iri, [])
        zh = [n for n in found if (n.language or "").startswith("zh")]
        en = [n for n in found if (n.language or "") == "en"]
        item.name_zh = pick(zh, "zh")
        item.name_en = pick(en, "en")
        item.names = {n.value for n in found} | other_names.get(iri, set())
        item.keys = {normalise(n) for n in item.names}
        item.province = pick(provinces.get(iri, ()), "zh")
        item.pinyin = (pinyin(item.name_zh), initials(item.name_zh))
    return sorted(rows.values(), key=lambda i: (i.kind_label, i.iri))


def _most_specific(kinds: set[str]) -> str:
    """The kind to show: a specific one (a medical kind, hospital) before the general
    medical education institution, before higher-education institution.

    >>> _most_specific({str(MEDEDKG.HigherEducationInstitution),
    ...                 str(MEDEDKG.TCMUniversity)}).rsplit("#")[-1]
    'TCMUniversity'
    """
    specific = sorted(k for k in kinds if k not in GENERAL_KINDS)
    if specific:
        return specific[0]
    return next((k for k in reversed(GENERAL_KINDS) if k in kinds), "")


@bp.route("/institutions")
def institutions() -> Response | str:
    """Institutions of the MOE list, medical units and hospitals: filter by ``kind``,
    ``province`` and ``authority`` (IRIs or names), by ``teaches`` (``yes``, ``no``,
    ``name-rule``, ``units-or-hospitals``) and by ``evidence`` (a rule, IRI or
    ``mededkg:`` name); search ``q`` over Chinese and English names and their pinyin.
    The HTML table shows :data:`PAGE_SIZE` rows per ``page``.

    Raises:
        400: an unknown ``teaches`` value, or a page that is not one.
    """
    twin = _twin()
    lang = ui_language()
    everything = institutions_all(lang)
    kind = request.args.get("kind", "")
    province = request.args.get("province", "")
    authority = request.args.get("authority", "")
    teaches = request.args.get("teaches", "")
    evidence = request.args.get("evidence", "")
    query = request.args.get("q", "")
    if teaches and teaches not in TEACHES:
        abort(400, f"unknown teaches={teaches!r}; choose one of: {', '.join(TEACHES)}")
    rows = [
        i
        for i in everything
        if (not kind or kind in (i.kind, curie(i.kind)))
        and (not province or province == i.province)
        and (not authority or authority in (i.authority, i.authority_label))
        and i.teaches(teaches)
        and (not evidence or any(evidence in (r, curie(r)) for r in i.rules))
        and i.matches(query)
    ]
    filters = {
        "kind": kind,
        "province": province,
        "authority": authority,
        "teaches": teaches,
        "evidence": evidence,
        "q": query,
    }
    if twin == "json":
        return jsonify(
            {
                "filters": filters,
                "count": len(rows),
                "columns": list(INSTITUTION_COLUMNS),
                "rows": [_public(i) for i in rows],
            }
        )
    if twin == "csv":
        return _csv(INSTITUTION_COLUMNS, [_public(i) for i in rows], "institutions")
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = _page(pages)
    return render_template(
        "institutions.html",
        rows=rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        total=len(rows),
        page=page,
        pages=pages,
        filters=filters,
        kinds=_choices(everything, lambda i: (i.kind, i.kind_label)),
        provinces=_choices(everything, lambda i: (i.province, i.province)),
        authorities=_choices(everything, lambda i: (i.authority, i.authority_label)),
        teaches_choices=[(t, sum(i.teaches(t) for i in everything)) for t in TEACHES],
        evidence_choices=_rule_choices(everything, lang),
    )


def _page(pages: int) -> int:
    """The ``page`` asked for (1 to *pages*; default 1).

    Raises:
        400: not a number, or out of range.
    """
    raw = request.args.get("page") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= pages:
        abort(400, f"page={raw!r} is not a page of this table (1 to {pages})")
    return int(raw)


def _rule_choices(rows: Sequence[Institution], lang: str) -> list[tuple[str, str, int]]:
    """``(rule curie, label, rows with it)`` for the evidence filter, by label."""
    labels = _labels()
    counts: dict[str, int] = {}
    for row in rows:
        for rule in row.rules:
            counts[rule] = counts.get(rule, 0) + 1
    return sorted(
        (
            (curie(rule), pick(labels.get(rule, ()), lang) or curie(rule), n)
            for rule, n in counts.items()
        ),
        key=lambda c: c[1],
    )


def _public(item: Institution) -> dict[str, object]:
    return {k: v for k, v in asdict(item).items() if k in INSTITUTION_COLUMNS}


def _choices(
    rows: Sequence[Institution], key: Callable[[Institution], tuple[str, str]]
) -> list[tuple[str, str, int]]:
    """``(value, label, count)`` for a filter's options, by label."""
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        value, label = key(row)
        if value:
            counts[(value, label)] = counts.get((value, label), 0) + 1
    return sorted(
        ((v, label, n) for (v, label), n in counts.items()), key=lambda c: c[1]
    )


# --- disciplines ------------------------------------------------------------------
@dataclass
class Node:
    """A concept of the catalogue tree with its children and counts below it."""

    iri: str
    code: str
    name: str
    level: str
    href: str
    children: list[Node] = field(default_factory=list)

    def count(self, level: str) -> int:
        """How many concepts of *level* (a class local name) are below this one."""
        return sum(
            (1 if child.level == level else 0) + child.count(level)
            for child in self.children
        )

    def as_json(self) -> dict[str, object]:
        """The node and its subtree as plain data."""
        return {
            "iri": self.iri,
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "first_level": self.count("FirstLevelDiscipline"),
            "professional_degree": self.count("ProfessionalDegreeCategory"),
            "second_level": self.count("SecondLevelDiscipline"),
            "children": [c.as_json() for c in self.children],
        }


def editions() -> list[tuple[str, str, str]]:
    """``(notation, IRI, name)`` of each catalogue edition that has concepts."""
    names: dict[tuple[str, str], list[ox.Literal]] = {}
    for row in select("editions"):
        key = (row["notation"].value, row["edition"].value)
        name = row.get("name")
        names.setdefault(key, [])
        if isinstance(name, ox.Literal):
            names[key].append(name)
    return [
        (notation, iri, pick(found, ui_language()))
        for (notation, iri), found in sorted(names.items())
    ]


def discipline_tree(edition_iri: str) -> list[Node]:
    """The categories of an edition, each with its subtree, ordered by code."""
    lang = ui_language()
    nodes: dict[str, Node] = {}
    parents: dict[str, str] = {}
    names: dict[str, list[ox.Literal]] = {}
    for row in select(
        "discipline-tree",
        edition=ox.NamedNode(edition_iri),
        inferred=inferred_graph(),
    ):
        iri = row["node"].value
        if iri not in nodes:
            nodes[iri] = Node(
                iri,
                row["code"].value,
                "",
                row["level"].value.rsplit("#", 1)[-1],
                local_url(iri),
            )
        name = row.get("name")
        if isinstance(name, ox.Literal) and name not in names.get(iri, []):
            names.setdefault(iri, []).append(name)
        if "parent" in row:
            parents[iri] = row["parent"].value
    for iri, node in nodes.items():
        node.name = pick(names.get(iri, ()), lang)
    roots: list[Node] = []
    for iri, node in sorted(nodes.items(), key=lambda item: item[1].code):
        parent = nodes.get(parents.get(iri, ""))
        (parent.children if parent else roots).append(node)
    return roots


@bp.route("/disciplines")
def disciplines() -> Response | str:
    """The discipline catalogue of one ``edition`` (default 2022) as a tree of
    categories, first-level disciplines, professional degree categories and
    second-level disciplines, with counts."""
    twin = _twin()
    known = editions()
    edition = request.args.get("edition", DEFAULT_EDITION)
    chosen = next((e for e in known if e[0] == edition), None)
    if chosen is None:
        names = ", ".join(e[0] for e in known)
        abort(404, f"no catalogue edition {edition!r}; editions: {names}")
    tree = discipline_tree(chosen[1])
    if twin == "json":
        return jsonify(
            {
                "edition": {"notation": chosen[0], "iri": chosen[1], "name": chosen[2]},
                "editions": [e[0] for e in known],
                "categories": [n.as_json() for n in tree],
            }
        )
    if twin == "csv":
        flat: list[dict[str, object]] = [
            {
                "code": n.code,
                "name": n.name,
                "level": n.level,
                "iri": n.iri,
                "parent": parent,
            }
            for n, parent in _walk(tree, "")
        ]
        return _csv(("code", "name", "level", "iri", "parent"), flat, "disciplines")
    return render_template(
        "disciplines.html", tree=tree, editions=known, edition=chosen
    )


@bp.route("/disciplines/timeline")
def discipline_timeline() -> Response | str:
    """The catalogue through time for one ``category`` (default 10, medicine): each
    concept followed from edition to edition (named query ``catalogue-timeline``),
    each step saying whether it persisted, was renamed, got another code or split."""
    twin = _twin()
    category = request.args.get("category", "10").strip()
    rows = select_named("catalogue-timeline")  # every category: the chooser lists them
    categories = sorted(
        {
            (row["code"].value, row["name"].value if "name" in row else "")
            for row in rows
            if row["level"].value.endswith("#DisciplineCategory")
        }
    )
    editions_shown, lines = lineages(r for r in rows if r["category"].value == category)
    if not lines:
        known = ", ".join(code for code, _ in categories)
        abort(404, f"no discipline category with the code {category!r}; codes: {known}")
    if twin == "json":
        return jsonify(
            {
                "category": category,
                "editions": editions_shown,
                "lineages": [
                    {
                        "cells": {e: asdict(c) for e, c in line.cells.items()},
                        "not_continued_after": line.ended_in and max(line.cells),
                    }
                    for line in lines
                ],
            }
        )
    return render_template(
        "discipline_timeline.html",
        category=category,
        categories=categories,
        editions=editions_shown,
        lines=lines,
    )


def _walk(nodes: list[Node], parent: str) -> list[tuple[Node, str]]:
    out: list[tuple[Node, str]] = []
    for node in nodes:
        out.append((node, parent))
        out.extend(_walk(node.children, node.iri))
    return out


# --- degrees --------------------------------------------------------------------------
ATTRIBUTES = {
    str(MEDEDKG.degreeLevel): "level",
    str(MEDEDKG.orientation): "orientation",
    str(MEDEDKG.iscedLevel): "isced_level",
    str(MEDEDKG.trainingEnvironment): "environment",
    str(MEDEDKG.durationYears): "duration",
    str(MEDEDKG.minimumClinicalTrainingMonths): "clinical_months",
    str(MEDEDKG.intendedCareer): "careers",
    str(MEDEDKG.sameLevelAs): "same_level_as",
    "http://www.w3.org/2004/02/skos/core#definition": "definition",
    "http://purl.org/dc/terms/source": "source",
}
COMPARED = (
    "orientation",
    "environment",
    "duration",
    "clinical_months",
    "careers",
    "definition",
)


@dataclass
class Degree:
    """A degree type and its attributes as ``(text, href)`` pairs."""

    iri: str
    name: str
    href: str
    values: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def texts(self, key: str) -> list[str]:
        """The texts of attribute *key*."""
        return [text for text, _ in self.values.get(key, [])]


def degree_types(lang: str) -> list[Degree]:
    """Every degree type with its attributes, in the interface language."""
    labels = _labels()
    degrees: dict[str, Degree] = {}
    for row in select("degree-types"):
        iri = row["degree"].value
        degree = degrees.setdefault(
            iri,
            Degree(iri, pick(labels.get(iri, ()), lang) or curie(iri), local_url(iri)),
        )
        key = ATTRIBUTES[row["attribute"].value]
        value = row["value"]
        if isinstance(value, ox.Literal):
            if key == "definition" and value.language and value.language != lang:
                continue
            text = value.value
            if text.endswith(".0") and text[:-2].isdigit():
                text = text[:-2]
            shown = (text, "")
        else:
            shown = (
                pick(labels.get(value.value, ()), lang) or curie(value.value),
                local_url(value.value),
            )
        if shown not in degree.values.setdefault(key, []):
            degree.values[key].append(shown)
    for degree in degrees.values():
        if not degree.values.get("definition"):
            degree.values.pop("definition", None)
    return sorted(degrees.values(), key=lambda d: d.iri)


@bp.route("/degrees")
def degrees() -> Response | str:
    """Degree types with level, orientation and ISCED level, and the academic and
    professional master's degrees of medicine side by side (CQ08)."""
    twin = _twin()
    lang = ui_language()
    found = degree_types(lang)
    masters = [
        d
        for d in found
        if any(href.endswith("#MasterLevel") for _, href in d.values.get("level", []))
    ]
    if twin == "json":
        return jsonify(
            {
                "degrees": [
                    {"iri": d.iri, "name": d.name, **{k: d.texts(k) for k in d.values}}
                    for d in found
                ],
                "masters_compared": [d.iri for d in masters],
            }
        )
    if twin == "csv":
        columns = ("iri", "name", *sorted(set(ATTRIBUTES.values())))
        flat: list[dict[str, object]] = [
            {
                "iri": d.iri,
                "name": d.name,
                **{k: " | ".join(d.texts(k)) for k in d.values},
            }
            for d in found
        ]
        return _csv(columns, flat, "degrees")
    return render_template(
        "degrees.html", degrees=found, masters=masters, compared=COMPARED
    )
