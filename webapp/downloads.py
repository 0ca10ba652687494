"""Downloads: ``/downloads`` lists the dumps of the build (HTML, with a JSON twin);
``/downloads/<file>`` serves one of them, only if the index lists it — made on its
first download when the build wrote the index only (``dumps = lazy``, the default)."""

from __future__ import annotations

import io
from dataclasses import asdict
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    render_template,
    request,
    send_file,
)

from mededkg.pipeline.dumps import Dump, dumps_folder, find, make_dump, read_index
from webapp.context import state
from webapp.urls import public_url

bp = Blueprint("downloads", __name__, url_prefix="/downloads")


@bp.route("")
def listing() -> Response | str:
    """Every dump with its graph, format, size and SHA-256 checksum."""
    dumps = _dumps()
    wants_json = request.args.get("format") == "json" or (
        request.accept_mimetypes.best_match(["text/html", "application/json"])
        == "application/json"
    )
    if wants_json:
        return jsonify(
            [{**asdict(d), "url": public_url("downloads/" + d.file)} for d in dumps]
        )
    return render_template("downloads.html", dumps=dumps)


@bp.route("/<file>")
def download(file: str) -> Response:
    """One dump, as an attachment, with its checksum in a ``Digest``-style header."""
    dump = find(_dumps(), file)
    if dump is None:
        abort(404, f"no download named {file!r}; see /downloads for the list")
    dump, data = make_dump(state().store, _folder(), dump)
    assert dump.sha256 is not None
    response = send_file(
        _folder() / dump.file if data is None else io.BytesIO(data),
        mimetype=dump.media_type,
        as_attachment=True,
        download_name=dump.file,
        etag=dump.sha256,
        conditional=True,
    )
    response.headers["X-Checksum-SHA256"] = dump.sha256
    return response


def _folder() -> Path:
    location = state().store.location
    if location is None:
        abort(404, "this store is in memory and has no downloads")
    return dumps_folder(location)


def _dumps() -> list[Dump]:
    location = state().store.location
    return read_index(dumps_folder(location)) if location is not None else []
