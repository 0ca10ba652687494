"""The pipeline: all-or-nothing builds, the inferred graph, --add graphs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import URIRef

from mededkg.errors import LoadError, StoreNotFound
from mededkg.namespaces import INFERRED_GRAPH, graph_iri
from mededkg.pipeline.build import build
from mededkg.pipeline.validate import ValidationFailed
from mededkg.query.gate import AskResult, Limits, SelectResult, execute
from mededkg.storage import (
    EmbeddedStore,
    Store,
    StoreError,
    backend_for,
    open_store,
)
from mededkg.storage.embedded import builds_dir
from tests.conftest import FIXTURE_ROOT, make_config

LIMITS = Limits()
CAPITAL = "https://w3id.org/mededkg/id/institution/4111010025"


def _copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE_ROOT, root)
    return root


def _count(store: Store) -> int:
    result = execute(store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", limits=LIMITS)
    assert isinstance(result, SelectResult)
    term = result.rows[0][0]
    assert term is not None
    return int(term.value)


def test_build_reports_each_step_and_writes_the_store(tmp_path: Path) -> None:
    config = make_config(FIXTURE_ROOT, tmp_path / "store")
    result = build(config)
    names = [s.name for s in result.steps]
    assert names == ["load", "reason", "validate", "dumps", "store"]
    assert result.report.conforms
    store = EmbeddedStore.open(config.store_path)
    assert "https://w3id.org/mededkg/graph/inferred" in store.named_graphs()


def test_inferred_graph_holds_entailments_not_assertions(fixture_store: Store) -> None:
    ask = (
        "ASK { GRAPH <https://w3id.org/mededkg/graph/inferred> { "
        f"<{CAPITAL}> a <https://w3id.org/mededkg/ontology#MedicalEducationInstitution>"
        "; <https://w3id.org/mededkg/ontology#hasAffiliate> ?h } }"
    )
    assert execute(fixture_store, ask, limits=LIMITS) == AskResult(True)
    asserted_in_inferred = (
        "ASK { GRAPH <https://w3id.org/mededkg/graph/inferred> { "
        f"<{CAPITAL}> a <https://w3id.org/mededkg/ontology#MedicalUniversity> }} }}"
    )
    assert execute(fixture_store, asserted_in_inferred, limits=LIMITS) == AskResult(
        False
    )


def test_failed_validation_keeps_the_previous_store(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    config = make_config(root, tmp_path / "store")
    build(config)
    before = _count(EmbeddedStore.open(config.store_path))
    (root / "data" / "broken.ttl").write_text(
        "@prefix mededkg: <https://w3id.org/mededkg/ontology#> .\n"
        "<https://w3id.org/mededkg/id/institution/x> a mededkg:MedicalUniversity ;"
        ' mededkg:moeCode "123" .\n'
    )
    link_target = config.store_path.resolve()
    builds = sorted(builds_dir(config.store_path).iterdir())
    with pytest.raises(ValidationFailed) as caught:
        build(config)
    (violation,) = caught.value.report.violations
    assert violation.focus_node.endswith("/institution/x")
    assert violation.message == "An institution needs exactly one 10-digit MOE code."
    assert _count(EmbeddedStore.open(config.store_path)) == before
    # The new store was written while the validator ran, and removed when the
    # validator said no: the link and the build folders are as they were.
    assert config.store_path.resolve() == link_target
    assert sorted(builds_dir(config.store_path).iterdir()) == builds


def test_failed_validation_keeps_the_previous_dataset_of_the_memory_back_end(
    tmp_path: Path,
) -> None:
    # A back-end that makes the new dataset current as it writes it (no gate
    # before the swap) is written only once the validator has said yes.
    root = _copy_project(tmp_path)
    config = make_config(root, tmp_path / "memory", store_backend="memory")
    backend = backend_for(config)
    assert not backend.gates_swap
    build(config)
    before = _count(open_store(config))
    (root / "data" / "broken.ttl").write_text(
        "@prefix mededkg: <https://w3id.org/mededkg/ontology#> .\n"
        "<https://w3id.org/mededkg/id/institution/x> a mededkg:MedicalUniversity .\n"
    )
    with pytest.raises(ValidationFailed):
        build(config)
    assert _count(open_store(config)) == before


def test_the_build_result_offers_its_quads_as_an_rdflib_dataset(
    tmp_path: Path,
) -> None:
    config = make_config(FIXTURE_ROOT, tmp_path / "store")
    result = build(config, write=False)
    inferred = result.dataset.graph(URIRef(graph_iri(config.base_iri, INFERRED_GRAPH)))
    assert len(inferred) == sum(
        1 for q in result.quads if q.graph_name.value.endswith("/graph/inferred")
    )
    assert len(inferred) > 0


def test_malformed_file_keeps_the_previous_store(tmp_path: Path) -> None:
    root = _copy_project(tmp_path)
    config = make_config(root, tmp_path / "store")
    build(config)
    link_target = config.store_path.resolve()
    (root / "data" / "broken.ttl").write_text("<http://e/a> <http://e/b> .\n")
    with pytest.raises(LoadError, match=r"broken\.ttl:1"):
        build(config)
    assert config.store_path.resolve() == link_target


def test_added_graph_is_queryable_by_name_and_in_the_union(tmp_path: Path) -> None:
    extra = tmp_path / "my-survey.ttl"
    extra.write_text(
        f'<{CAPITAL}> <http://example.org/survey#rank> "3"^^'
        "<http://www.w3.org/2001/XMLSchema#integer> .\n"
    )
    config = make_config(FIXTURE_ROOT, tmp_path / "store")
    build(config, [extra])
    store = EmbeddedStore.open(config.store_path)
    graph = "https://w3id.org/mededkg/graph/add/my-survey"
    assert graph in store.named_graphs()
    by_name = f"ASK {{ GRAPH <{graph}> {{ <{CAPITAL}> ?p 3 }} }}"
    in_union = f"ASK {{ <{CAPITAL}> <http://example.org/survey#rank> 3 ; a ?type }}"
    assert execute(store, by_name, limits=LIMITS) == AskResult(True)
    assert execute(store, in_union, limits=LIMITS) == AskResult(True)


def test_opening_a_missing_store_says_to_build(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFound, match="run `mededkg build`"):
        EmbeddedStore.open(tmp_path / "nothing")


def test_a_foreign_folder_at_the_store_path_is_not_overwritten(tmp_path: Path) -> None:
    precious = tmp_path / "store"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me")
    with pytest.raises(StoreError, match="not a MedEdKG store link"):
        build(make_config(FIXTURE_ROOT, precious))
    assert (precious / "thesis.txt").read_text() == "keep me"
