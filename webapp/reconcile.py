"""The W3C Entity Reconciliation API, version 0.2 (the one OpenRefine 3.x speaks), at
``/reconcile``.

- ``GET /reconcile``: the service manifest.
- ``GET|POST /reconcile`` with ``queries=`` (a JSON batch): reconciliation.
- ``GET|POST /reconcile`` with ``extend=`` (JSON): data extension;
  ``GET /reconcile/propose_properties?type=``: properties worth fetching for a type.
- ``GET /reconcile/suggest/entity|type|property?prefix=``: auto-completion.
- ``GET /reconcile/preview?id=``: a small HTML card OpenRefine shows in an iframe.

Every GET answers JSONP with ``callback=`` (a strictly checked JavaScript name); every
path allows any origin (CORS) and answers preflight requests. Ids are IRIs without the
base (``id/institution/4111010023``, see :mod:`mededkg.matching.reconcile`), so the
manifest's ``view`` template is this server's resource page; the manifest's URLs start
with the public base URL of the settings (:mod:`webapp.urls`), never the request's
``Host``. Malformed requests get the project's one error shape (400 with what is wrong,
for non-finite or huge numbers and absurdly deep JSON too); well-formed ones the
responses the specification defines.

The index is built from the page queries ``webapp/queries/reconcile-*.rq`` once per
store version (the store's location changes after every write) and kept on the app.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, abort, current_app, render_template, request

from mededkg.matching.names import is_chinese
from mededkg.matching.reconcile import (
    DEFAULT_LIMIT,
    DEFAULT_TYPES,
    MAX_LIMIT,
    ONTOLOGY,
    Candidate,
    Cell,
    Constraint,
    Entity,
    Index,
    Property,
    Query,
    ReconcileError,
    Statement,
    TypeInfo,
)
from webapp.context import state
from webapp.pages import local_url, select_all
from webapp.urls import public_url

bp = Blueprint("reconcile", __name__, url_prefix="/reconcile")

#: Key of the index cache in ``app.extensions``.
EXTENSION = "mededkg.matching.reconcile"
#: Most queries in one batch, ids in one extension request.
MAX_BATCH = 1000
#: A JSONP callback: dotted JavaScript identifiers, nothing that could be script.
CALLBACK = re.compile(r"[A-Za-z_$][\w$]{0,63}(\.[A-Za-z_$][\w$]{0,63}){0,4}", re.ASCII)
CORS_HEADERS = "Accept, Content-Type"
#: The longest ``q`` the preview explains (longer text is cut).
MAX_PREVIEW_QUERY = 500
#: The preview is meant to be framed by OpenRefine on another origin; no script.
PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors *; base-uri 'none'; form-action 'none'"
)
PREVIEW_SIZE = {"width": 420, "height": 190}
PROPERTY_SETTINGS = [
    {
        "type": "number",
        "name": "limit",
        "label": "Limit",
        "default": 0,
        "help_text": "Most values to fetch per property (0: all).",
    }
]


@dataclass
class IndexCache:
    """The reconciliation index of one store version, rebuilt when the store moves."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    key: object = None
    index: Index | None = None


def current_index() -> Index:
    """The index of the store the app serves now (built on first use per version)."""
    cache = current_app.extensions.setdefault(EXTENSION, IndexCache())
    assert isinstance(cache, IndexCache)
    key = state().store_version
    with cache.lock:
        if cache.index is None or cache.key != key:
            cache.index = Index.build(
                state().config.base_iri,
                _statements("reconcile-entities", "entity"),
                _statements("reconcile-types", "type"),
                _statements("reconcile-referents", "node"),
            )
            cache.key = key
        return cache.index


def _statements(query: str, subject: str) -> list[Statement]:
    rows = []
    for row in select_all(query):
        o = row["o"]
        rows.append(
            Statement(
                row[subject].value,
                row["p"].value,
                o.value,
                o.language or "" if isinstance(o, ox.Literal) else "",
                isinstance(o, ox.NamedNode),
            )
        )
    return rows


# --- CORS and JSONP ------------------------------------------------------------------
@bp.after_request
def allow_cross_origin(response: Response) -> Response:
    """Let OpenRefine (a web page on another origin) call every path, errors
    included, and answer its preflight requests."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


def reply(payload: Mapping[str, Any]) -> Response:
    """*payload* as JSON, or as JSONP when a GET names a ``callback``.

    Raises:
        400: a callback that is not a plain (dotted) JavaScript identifier.
    """
    callback = request.args.get("callback") if request.method == "GET" else None
    text = json.dumps(payload, ensure_ascii=False)
    if not callback:
        return Response(text, mimetype="application/json")
    if not CALLBACK.fullmatch(callback):
        abort(400, "callback must be a JavaScript identifier (letters, digits, _ $ .)")
    # The comment stops a callback name from being read as something else (Rosetta
    # Flash); U+2028/9 are line ends in JavaScript but not in JSON.
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    response = Response(f"/**/{callback}({text});", mimetype="application/javascript")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- the service ---------------------------------------------------------------------
@bp.route("", methods=["GET", "POST"])
def service() -> Response:
    """The manifest; a reconciliation batch (``queries``); a data extension
    (``extend``).

    Raises:
        400: malformed JSON, an unknown type or property, a POST with neither.
    """
    values = request.values
    if "queries" in values:
        return reply(reconcile_batch(_json_param("queries")))
    if "extend" in values:
        return reply(extend(_json_param("extend")))
    if request.method == "POST":
        abort(400, "POST a form with 'queries' (reconciliation) or 'extend' (data)")
    return reply(manifest())


def manifest() -> dict[str, Any]:
    """The service manifest: what the service reconciles and where its parts are."""
    root = public_url()
    service_url = public_url("reconcile")
    index = current_index()
    try:
        software = version("mededkg")
    except PackageNotFoundError:  # a source tree that is not installed
        software = "unknown"
    return {
        "versions": ["0.2"],
        "name": "MedEdKG — medical education institutions, hospitals, disciplines",
        "identifierSpace": state().config.base_iri,
        "schemaSpace": ONTOLOGY,
        "serviceVersion": software,
        "defaultTypes": [
            _type_json(index.types[t]) for t in DEFAULT_TYPES if t in index.types
        ],
        "view": {"url": root + "{{id}}"},
        "preview": {"url": service_url + "/preview?id={{id}}", **PREVIEW_SIZE},
        "suggest": {
            kind: {"service_url": service_url, "service_path": f"/suggest/{kind}"}
            for kind in ("entity", "type", "property")
        },
        "extend": {
            "propose_properties": {
                "service_url": service_url,
                "service_path": "/propose_properties",
            },
            "property_settings": PROPERTY_SETTINGS,
        },
    }


def reconcile_batch(batch: object) -> dict[str, Any]:
    """Answer a batch ``{key: query}`` with ``{key: {"result": [candidates]}}``.

    Raises:
        ReconcileError: a batch or query that is not shaped as the spec says.
    """
    if not isinstance(batch, dict):
        raise ReconcileError("queries must be a JSON object {key: query}")
    if len(batch) > MAX_BATCH:
        raise ReconcileError(f"at most {MAX_BATCH} queries per batch")
    index = current_index()
    answers: dict[str, Any] = {}
    for key, raw in batch.items():
        query = parse_query(key, raw)
        lang = "zh" if is_chinese(query.text) or not query.text else "en"
        answers[key] = {
            "result": [_candidate_json(index, c, lang) for c in index.reconcile(query)]
        }
    return answers


def parse_query(key: str, raw: object) -> Query:
    """One query of a batch as a :class:`~mededkg.matching.reconcile.Query`.

    Raises:
        ReconcileError: a query that is not shaped as the spec says.
    """
    where = f"query {key!r}"
    if not isinstance(raw, dict):
        raise ReconcileError(f"{where} must be a JSON object")
    unknown = set(raw) - {"query", "type", "limit", "properties", "type_strict"}
    if unknown:
        raise ReconcileError(
            f"{where} has unknown members: {', '.join(sorted(unknown))}"
        )
    text = raw.get("query", "")
    if not isinstance(text, str):
        raise ReconcileError(f"{where}: 'query' must be a string")
    types = raw.get("type") or []
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise ReconcileError(f"{where}: 'type' must be a string or a list of strings")
    limit = raw.get("limit", DEFAULT_LIMIT)
    if not _is_count(limit):
        raise ReconcileError(f"{where}: 'limit' must be a finite number ≥ 0")
    strict = raw.get("type_strict", "any")
    if strict not in ("any", "all", "should"):
        raise ReconcileError(f"{where}: 'type_strict' must be any, all or should")
    constraints = tuple(_constraint(where, p) for p in raw.get("properties") or [])
    if not text.strip() and not constraints:
        raise ReconcileError(f"{where} needs a 'query' or 'properties'")
    return Query(
        text,
        tuple(types),
        min(int(limit), MAX_LIMIT) if limit else DEFAULT_LIMIT,
        constraints,
        strict,
    )


def _constraint(where: str, raw: object) -> Constraint:
    if not isinstance(raw, dict) or not isinstance(raw.get("pid"), str):
        raise ReconcileError(f"{where}: each property needs a string 'pid' and a 'v'")
    values = raw.get("v")
    items = values if isinstance(values, list) else [values]
    texts: list[str] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            texts.append(item["id"])
        elif isinstance(item, bool):
            texts.append("true" if item else "false")
        elif isinstance(item, int):  # not through float: a huge int overflows it
            texts.append(str(item))
        elif isinstance(item, float) and math.isfinite(item):
            texts.append(str(int(item)) if item.is_integer() else str(item))
        elif isinstance(item, str):
            texts.append(item)
        else:
            raise ReconcileError(
                f"{where}: property {raw['pid']!r} has a value that is not a string, "
                "number, boolean or {id}"
            )
    return Constraint(raw["pid"], tuple(t for t in texts if t.strip()))


def _candidate_json(index: Index, candidate: Candidate, lang: str) -> dict[str, Any]:
    entity = candidate.entity
    found: dict[str, Any] = {
        "id": entity.id,
        "name": entity.name(lang),
        "type": [_type_json(index.types[k], lang) for k in entity.kinds],
        "score": candidate.score,
        "match": candidate.match,
        "features": [{"id": k, "value": v} for k, v in candidate.features.items()],
    }
    description = index.describe(entity, lang)
    if candidate.why:
        why = ("why: " if lang == "en" else "理由：") + "; ".join(candidate.why)
        description = f"{description} · {why}" if description else why
    if description:
        found["description"] = description
    return found


def _type_json(info: TypeInfo, lang: str = "en") -> dict[str, str]:
    return {"id": info.id, "name": info.name(lang)}


# --- data extension ------------------------------------------------------------------
def extend(request_: object) -> dict[str, Any]:
    """Answer ``{"ids", "properties"}`` with ``{"meta", "rows"}``: the values of each
    property for each id (strings as ``{"str"}``, years as ``{"int"}``, links to
    other resources as ``{"id", "name"}``).

    Raises:
        ReconcileError: a request that is not shaped as the spec says, or an
            unknown property.
    """
    if not isinstance(request_, dict):
        raise ReconcileError("extend must be a JSON object {ids, properties}")
    ids, properties = request_.get("ids"), request_.get("properties")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ReconcileError("extend: 'ids' must be a list of strings")
    if len(ids) > MAX_BATCH:
        raise ReconcileError(f"extend: at most {MAX_BATCH} ids per request")
    if not isinstance(properties, list) or not all(
        isinstance(p, dict) and isinstance(p.get("id"), str) for p in properties
    ):
        raise ReconcileError("extend: 'properties' must be a list of {id, settings}")
    index = current_index()
    wanted: list[tuple[str, Property, int]] = []
    for item in properties:
        settings = item.get("settings") or {}
        limit = settings.get("limit", 0) if isinstance(settings, dict) else 0
        wanted.append((item["id"], index.property(item["id"]), _setting_limit(limit)))
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for id_ in ids:
        entity = index.entity(id_)
        rows[id_] = {
            pid: _cells(index, entity, prop, limit) for pid, prop, limit in wanted
        }
    return {"meta": [_meta(pid, prop) for pid, prop, _ in wanted], "rows": rows}


def _setting_limit(value: object) -> int:
    """The ``limit`` property setting of a data extension request (0: all values).

    Raises:
        ReconcileError: not a finite number or a whole number as text.

    >>> _setting_limit("3"), _setting_limit(2.5), _setting_limit(-1)
    (3, 2, 0)
    """
    if isinstance(value, str):  # the setting as typed into OpenRefine's form
        try:
            value = int(value.strip() or 0)
        except ValueError as error:
            raise ReconcileError("extend: setting 'limit' must be a number") from error
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = max(0, value)  # a negative limit has always meant all values
    if not _is_count(value):
        raise ReconcileError("extend: setting 'limit' must be a finite number")
    assert isinstance(value, int | float)
    return int(value)


def _cells(
    index: Index, entity: Entity | None, prop: Property, limit: int
) -> list[dict[str, Any]]:
    if entity is None:
        return []
    cells = index.cells(entity, prop)
    return [_cell_json(prop, c) for c in (cells[:limit] if limit else cells)]


def _cell_json(prop: Property, cell: Cell) -> dict[str, Any]:
    if cell.id:
        return {"id": cell.id, "name": cell.text}
    if prop.id == "foundingYear" and cell.text.isdigit():
        return {"int": int(cell.text)}
    return {"str": cell.text}


def _meta(pid: str, prop: Property) -> dict[str, Any]:
    meta: dict[str, Any] = {"id": pid, "name": prop.name}
    if prop.kind == "entity":
        # What the linked resources are, so OpenRefine can keep them reconciled.
        meta["type"] = {"id": "Organization", "name": "organization"}
        if prop.id in ("inScheme", "broader"):
            meta["type"] = {"id": "Discipline", "name": "discipline"}
    return meta


@bp.route("/propose_properties")
def propose_properties() -> Response:
    """The properties entities of ``type`` have, for OpenRefine's "add columns".

    Raises:
        400: an unknown type or a bad ``limit``.
    """
    type_id = request.args.get("type", "")
    limit = _int_arg("limit", 20)
    index = current_index()
    found = index.propose_properties(type_id, limit=limit)
    payload: dict[str, Any] = {
        "properties": [_property_json(p) for p in found],
        "limit": limit,
    }
    if type_id:
        payload["type"] = type_id
    return reply(payload)


# --- suggest -------------------------------------------------------------------------
@bp.route("/suggest/entity")
def suggest_entity() -> Response:
    """Entities whose names start with (then contain) ``prefix``, Chinese or English.

    Raises:
        400: no ``prefix``, an unknown ``type``, a bad ``limit`` or ``cursor``.
    """
    prefix = _prefix()
    index = current_index()
    types = [t for t in request.args.getlist("type") if t]
    lang = "zh" if is_chinese(prefix) else "en"
    found = index.suggest_entities(
        prefix, types=types, limit=_int_arg("limit", 10), offset=_int_arg("cursor", 0)
    )
    return reply(
        {
            "result": [
                {
                    "id": e.id,
                    "name": e.name(lang),
                    "description": index.describe(e, lang),
                    "notable": [_type_json(index.types[k], lang) for k in e.kinds],
                }
                for e in found
            ]
        }
    )


@bp.route("/suggest/type")
def suggest_type() -> Response:
    """Types whose id or name contains ``prefix``."""
    prefix = _prefix()
    lang = "zh" if is_chinese(prefix) else "en"
    index = current_index()
    result = []
    for info in index.suggest_types(prefix, limit=_int_arg("limit", 10)):
        item: dict[str, Any] = _type_json(info, lang)
        if info.description:
            item["description"] = info.description
        broader = [index.types[b] for b in info.broader if b in index.types]
        if broader:
            item["broader"] = [_type_json(b, lang) for b in broader]
        result.append(item)
    return reply({"result": result})


@bp.route("/suggest/property")
def suggest_property() -> Response:
    """Properties whose id, name or description contains ``prefix``."""
    prefix = _prefix()
    found = current_index().suggest_properties(prefix, limit=_int_arg("limit", 10))
    return reply({"result": [_property_json(p) for p in found]})


def _property_json(prop: Property) -> dict[str, str]:
    return {"id": prop.id, "name": prop.name, "description": prop.description}


# --- preview -------------------------------------------------------------------------
@bp.route("/preview")
def preview() -> Response:
    """A small HTML card about one entity, for OpenRefine's preview iframe; with
    ``q`` (the text that was reconciled), also why the entity is a candidate for it:
    its score, the features the score is made of and the reasons in words.

    Raises:
        400: no ``id``. 404: no entity with this id.
    """
    id_ = request.args.get("id", "").strip()
    if not id_:
        abort(400, "preview needs an 'id'")
    index = current_index()
    entity = index.entity(id_)
    if entity is None:
        abort(404, f"no reconcilable entity has the id {id_!r}")
    facts = [
        (prop.name, ", ".join(c.text for c in index.cells(entity, prop)))
        for prop in index.propose_properties()
        if prop.id not in ("nameZh", "nameEn", "altLabel")
    ]
    text = request.args.get("q", "").strip()[:MAX_PREVIEW_QUERY]
    chosen = None
    if text:
        found = index.reconcile(Query(text=text, limit=MAX_LIMIT))
        chosen = next((c for c in found if c.entity.id == entity.id), None)
    html = render_template(
        "reconcile_preview.html",
        query=text,
        chosen=chosen,
        entity=entity,
        name_zh=entity.name("zh"),
        name_en=entity.name("en"),
        description=index.describe(entity, "zh"),
        facts=[(label, value) for label, value in facts if value],
        page=local_url(entity.iri),
    )
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    return response


# --- request helpers -----------------------------------------------------------------
def _json_param(name: str) -> object:
    """The JSON value of the request parameter *name*.

    Raises:
        ReconcileError: text that is not strict JSON (``NaN`` and ``Infinity`` are
            not), an integer too long to convert, nesting too deep to read.
    """
    try:
        loaded: object = json.loads(request.values[name], parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise ReconcileError(f"'{name}' is not valid JSON: {error}") from error
    except ValueError as error:  # the 4,300-digit limit on int() (or NaN, below)
        raise ReconcileError(f"'{name}' cannot be read: {error}") from error
    except RecursionError as error:
        raise ReconcileError(f"'{name}' is nested too deeply to read") from error
    return loaded


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number; send a finite number")


def _is_count(value: object) -> bool:
    """Whether *value* is a JSON number usable as a count: finite and ≥ 0.

    >>> [_is_count(v) for v in (3, 2.5, -1, float("inf"), True, "3")]
    [True, True, False, False, False, False]
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return value >= 0


def _prefix() -> str:
    prefix = request.args.get("prefix", "")
    if not prefix.strip():
        abort(400, "suggest needs a non-empty 'prefix'")
    return prefix


def _int_arg(name: str, default: int, *, most: int = MAX_LIMIT) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, f"'{name}' must be a whole number")
    if value < 0:
        abort(400, f"'{name}' must not be negative")
    return min(value, most) if name != "cursor" else value
