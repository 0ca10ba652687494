"""HTML pages: the dataset home page (with a JSON twin)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, jsonify, render_template, request

from mededkg.load import graph_name
from mededkg.stats import stats
from webapp.context import state

bp = Blueprint("pages", __name__)


@bp.route("/")
def home() -> Response | str:
    """What the graph is: triples per named graph, classes with instance counts."""
    summary = stats(state().store)
    wants_json = request.args.get("format") == "json" or (
        request.accept_mimetypes.best_match(["text/html", "application/json"])
        == "application/json"
    )
    if wants_json:
        return jsonify(asdict(summary))
    base = state().config.base_iri
    return render_template(
        "home.html",
        stats=summary,
        graph_name=lambda iri: graph_name(base, iri),
    )
