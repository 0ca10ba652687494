"""Downloads: every dump of a build listed, each made on its first download (or by
the build, with ``dumps = eager``) and then listed with its size and checksum, served
only when listed, each parsing back to the graph it claims to hold."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic

from mededkg.pipeline.dumps import (
    DATASET_STEM,
    dumps_folder,
    make_dump,
    read_index,
    write_dumps,
)
from mededkg.query.formats import RDF_FORMATS
from mededkg.settings import Config
from mededkg.storage import EmbeddedStore, Store
from mededkg.terms import to_rdflib
from webapp.urls import CONFIG_KEY


def _graph_of(store: Store, iri: str | None) -> Graph:
    graph = Graph()
    for quad in store.quads(iri):
        graph.add(
            (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object))
        )  # type: ignore[arg-type]
    return graph


def _body(client: FlaskClient, file: str) -> bytes:
    with client.get(f"/downloads/{file}") as response:
        return response.get_data()


def test_build_writes_every_format_for_the_dataset_and_each_graph(
    fixture_store: Store,
) -> None:
    assert fixture_store.location is not None
    dumps = read_index(dumps_folder(fixture_store.location))
    expected = {
        (graph, fmt.name)
        for graph in [None, *fixture_store.named_graphs()]
        for fmt in RDF_FORMATS
    }
    assert {(d.graph, d.format) for d in dumps} == expected


def test_listing_has_sizes_and_checksums_of_the_served_bytes(
    client: FlaskClient,
) -> None:
    listing = client.get("/downloads?format=json").get_json()
    assert listing
    served = {}
    for row in listing[:8]:
        with client.get(f"/downloads/{row['file']}") as response:
            assert response.status_code == 200
            body = response.get_data()
        assert response.headers["X-Checksum-SHA256"] == hashlib.sha256(body).hexdigest()
        assert response.headers["Content-Type"].startswith(row["media_type"])
        assert "attachment" in response.headers["Content-Disposition"]
        served[row["file"]] = body
    # Once served, a file is listed with the size and checksum of those bytes.
    after = {r["file"]: r for r in client.get("/downloads?format=json").get_json()}
    for file, body in served.items():
        assert after[file]["bytes"] == len(body)
        assert after[file]["sha256"] == hashlib.sha256(body).hexdigest()
    page = client.get("/downloads").get_data(as_text=True)
    assert all(after[file]["sha256"] in page for file in served)


def _built(
    fixture_config: Config, tmp_path: Path, **settings: object
) -> tuple[Config, Path]:
    """The fixture project built into a store of the test's own, and its dumps
    folder."""
    from mededkg.pipeline.build import build

    config = fixture_config.replace(store_path=tmp_path / "store", **settings)
    build(config)
    return config, dumps_folder(config.store_path.resolve())


def test_a_lazy_build_lists_every_file_and_makes_none(
    fixture_config: Config, tmp_path: Path
) -> None:
    config, folder = _built(fixture_config, tmp_path)
    index = read_index(folder)
    assert index and not any(d.made for d in index)
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "index.json"
    ]
    store = EmbeddedStore.open(config.store_path)
    made, data = make_dump(store, folder, index[0])
    assert data is None and made.made
    body = (folder / made.file).read_bytes()
    assert hashlib.sha256(body).hexdigest() == made.sha256 and len(body) == made.bytes
    assert read_index(folder)[0] == made
    # The same bytes as an eager build's file: made from the same build.
    eager = write_dumps(store, tmp_path / "eager", config.base_iri)
    assert eager[0].sha256 == made.sha256


def test_an_eager_build_writes_every_file(
    fixture_config: Config, tmp_path: Path
) -> None:
    _, folder = _built(fixture_config, tmp_path, dumps="eager")
    index = read_index(folder)
    assert index and all(d.made for d in index)
    for dump in index:
        body = (folder / dump.file).read_bytes()
        assert hashlib.sha256(body).hexdigest() == dump.sha256


def test_concurrent_first_downloads_get_one_complete_file(
    fixture_config: Config, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import contextmanager

    from tests.conftest import _serve
    from webapp import create_app

    config, folder = _built(fixture_config, tmp_path, rate_limit=0, client_queries=8)
    app = create_app(config)
    file = DATASET_STEM + ".jsonld"
    with contextmanager(_serve)(app) as url:
        import urllib.request

        def fetch(_: int) -> tuple[bytes, str]:
            with urllib.request.urlopen(f"{url}/downloads/{file}", timeout=60) as r:
                return r.read(), r.headers["X-Checksum-SHA256"]

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(fetch, range(6)))
    bodies = {body for body, _ in answers}
    assert len(bodies) == 1
    (body,) = bodies
    assert {sha for _, sha in answers} == {hashlib.sha256(body).hexdigest()}
    assert (folder / file).read_bytes() == body
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_dumps_folder_that_cannot_be_written_still_serves_complete_files(
    fixture_config: Config, tmp_path: Path
) -> None:
    config, folder = _built(fixture_config, tmp_path)
    # The maker's lock file cannot be opened (as with a read-only folder, but also
    # when the tests run as root, who may write anywhere).
    (folder / ".make.lock").mkdir()
    dump = read_index(folder)[0]
    made, data = make_dump(EmbeddedStore.open(config.store_path), folder, dump)
    assert data is not None and hashlib.sha256(data).hexdigest() == made.sha256
    assert not (folder / dump.file).exists() and not read_index(folder)[0].made


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=lambda f: f.name)
def test_each_graph_dump_parses_back_isomorphic(
    client: FlaskClient, fixture_store: Store, fmt: object
) -> None:
    listing = client.get("/downloads?format=json").get_json()
    for row in listing:
        if row["format"] != fmt.name or row["graph"] is None:  # type: ignore[attr-defined]
            continue
        body = _body(client, row["file"])
        parsed = Dataset() if fmt.datasets else Graph()  # type: ignore[attr-defined]
        parsed.parse(data=body, format=fmt.rdflib)  # type: ignore[attr-defined]
        back = Graph()
        for triple in (
            parsed.triples((None, None, None))
            if isinstance(parsed, Graph) and not isinstance(parsed, Dataset)
            else (t[:3] for t in parsed.quads((None, None, None, None)))
        ):
            back.add(triple)
        assert isomorphic(back, _graph_of(fixture_store, row["graph"])), row["file"]


def test_whole_dataset_in_a_format_without_graphs_says_graphs_were_merged(
    client: FlaskClient,
) -> None:
    listing = client.get("/downloads?format=json").get_json()
    whole = {r["format"]: r for r in listing if r["graph"] is None}
    assert whole["turtle"]["file"] == DATASET_STEM + ".ttl"
    assert whole["turtle"]["graphs_merged"] > 1
    assert whole["trig"]["graphs_merged"] == 0
    trig = _body(client, whole["trig"]["file"])
    page = client.get("/downloads").get_data(as_text=True)
    assert "graphs merged" in page and hashlib.sha256(trig).hexdigest() in page


def test_dumps_are_byte_identical_across_runs(
    fixture_store: Store, tmp_path: Path
) -> None:
    first = write_dumps(fixture_store, tmp_path / "a", "https://w3id.org/mededkg/")
    second = write_dumps(fixture_store, tmp_path / "b", "https://w3id.org/mededkg/")
    assert [d.sha256 for d in first] == [d.sha256 for d in second]


def test_unlisted_files_are_never_served(client: FlaskClient) -> None:
    for name in ("index.json", "CURRENT", "..%2FCURRENT", "nothing.ttl"):
        response = client.get(f"/downloads/{name}")
        assert response.status_code == 404
        assert response.get_json()["error"]["status"] == 404


def test_a_failed_build_keeps_the_previous_dumps(
    fixture_config: Config, tmp_path: Path
) -> None:
    from mededkg.pipeline.build import build
    from mededkg.pipeline.validate import ValidationFailed

    config = fixture_config.replace(store_path=tmp_path / "store")
    build(config)
    before = read_index(dumps_folder(EmbeddedStore.open(config.store_path).location))  # type: ignore[arg-type]
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        "<https://w3id.org/mededkg/id/institution/x> a "
        "<https://w3id.org/mededkg/ontology#MedicalUniversity> .\n"
    )
    with pytest.raises(ValidationFailed):
        build(config, add=[bad])
    after = read_index(dumps_folder(EmbeddedStore.open(config.store_path).location))  # type: ignore[arg-type]
    assert after == before


def test_void_lists_the_whole_dataset_dumps(client: FlaskClient) -> None:
    void = Graph().parse(
        data=client.get(
            "/.well-known/void", headers={"Accept": "text/turtle"}
        ).get_data(as_text=True),
        format="turtle",
    )
    dumps = {
        str(o) for o in void.objects(None, URIRef("http://rdfs.org/ns/void#dataDump"))
    }
    listing = client.get("/downloads?format=json").get_json()
    whole = {r["url"] for r in listing if r["graph"] is None and not r["graphs_merged"]}
    assert dumps == whole and len(whole) == 3
    for url in dumps:
        assert url.startswith(client.application.config[CONFIG_KEY])
        with client.get(urlsplit(url).path) as response:
            assert response.status_code == 200
