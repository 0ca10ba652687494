"""SSSOM files and their RDF, checked against sssom-py (the reference implementation
of the SSSOM specification): every committed linkset and a file the linker has just
written pass ``sssom validate``; broken files do not; our RDF states what sssom-py's
own RDF conversion states."""

from __future__ import annotations

import shutil
import warnings
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from rdflib import OWL, RDF, XSD, Graph, Literal, URIRef
from rdflib.term import Node

from mededkg.cli import main
from mededkg.matching.link.model import LINK_COLUMNS
from mededkg.matching.sssom import (
    SLOT_KINDS,
    contradicted_slots,
    read_sssom,
    sssom_to_graph,
    write_sssom,
)
from mededkg.namespaces import DCTERMS, SKOS, SSSOM
from mededkg.resources import default_root
from tests.conftest import FIXTURE_ROOT

LINKS = default_root() / "data" / "links"
COMMITTED = sorted(LINKS.glob("*.sssom.tsv"))
HERE = Path(__file__).parent / "data" / "link"

# sssom-py and the pandas it runs on warn about each other's deprecations.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:sssom"),
    pytest.mark.filterwarnings("ignore::FutureWarning:sssom"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:linkml"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:linkml_runtime"),
]


def _sssom_py() -> tuple[ModuleType, ModuleType, ModuleType]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sssom import parsers, validators, writers
    return parsers, validators, writers


def sssom_problems(path: Path) -> list[str]:
    """What sssom-py's ``sssom validate`` finds wrong with *path* (JSON schema of
    SSSOM, prefixes declared, CURIE format); empty when the file is valid."""
    parsers, validators, _ = _sssom_py()
    try:
        msdf = parsers.parse_sssom_table(str(path))
    except Exception as error:  # a YAML, table or model error: not SSSOM
        return [f"does not parse: {error}"]
    reports = validators.validate(msdf, fail_on_error=False)
    problems = [r.message for report in reports.values() for r in report.results]
    # sssom-py leaves out a row it cannot read (e.g. an unknown predicate_modifier),
    # with a warning only
    rows = len(read_sssom(path).rows)
    if len(msdf.df) != rows:
        problems.append(f"sssom-py read {len(msdf.df)} of the {rows} rows")
    return problems


def undeclared_prefixes(path: Path) -> set[str]:
    """Prefixes of the CURIEs in *path* that its own curie_map does not declare
    (sssom-py lets SSSOM's built-in prefixes pass; we declare every one)."""
    mapping_set = read_sssom(path)
    return {
        value.partition(":")[0]
        for row in mapping_set.rows
        for slot, cell in row.items()
        if SLOT_KINDS.get(slot) == "ref"
        for value in cell.split("|")
        if value and not value.startswith(("http://", "https://"))
    } - mapping_set.curie_map.keys()


def _check(path: Path) -> None:
    assert sssom_problems(path) == []
    assert undeclared_prefixes(path) == set()
    mapping_set = read_sssom(path)
    assert contradicted_slots(mapping_set.metadata, mapping_set.rows) == []


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_committed_linksets_pass_sssom_validate(path: Path) -> None:
    _check(path)


# --- a file the linker writes -----------------------------------------------------
REJECTED = (
    "institution:4111010025\t首都医科大学\tskos:exactMatch\tror:005edt527\t"
    "Capital Normal University\tsemapv:ManualMappingCuration\t0.5\tA Curator\t"
    "2026-07-01\t\t\tanother university\tA Curator\tNot\n"
)


@pytest.fixture(scope="module")
def linker_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mededkg link`` output with a tool row and a curator's negated row, as the
    linker rewrites it."""
    root = tmp_path_factory.mktemp("sssom") / "project"
    shutil.copytree(FIXTURE_ROOT, root)

    def link() -> None:
        result = CliRunner().invoke(
            main,
            [
                *("link", "--root", str(root), "--entities", "institutions"),
                *("--target", str(HERE / "ror-sample.json"), "--date", "2026-06-23"),
            ],
        )
        assert result.exit_code == 0, result.output

    link()
    path = root / "data" / "links" / "institutions-ror.sssom.tsv"
    path.write_text(path.read_text(encoding="utf-8") + REJECTED, encoding="utf-8")
    link()
    written = path.read_bytes()
    link()
    assert path.read_bytes() == written  # the writer's own form is stable
    assert REJECTED.encode() in written
    return path


def test_linker_output_passes_sssom_validate(linker_file: Path) -> None:
    _check(linker_file)
    header = read_sssom(linker_file).metadata
    assert header["publication_date"] == "2026-06-23"
    assert not {"mapping_date", "mapping_tool"} & header.keys()


# --- broken files fail --------------------------------------------------------------
GOOD = (
    "#mapping_set_id: https://example.org/set\n"
    "#mapping_set_description: some links\n"
    "#license: https://creativecommons.org/licenses/by/4.0/\n"
    "#curie_map:\n"
    "#  ex: https://example.org/\n"
    "#  semapv: https://w3id.org/semapv/vocab/\n"
    "#  skos: http://www.w3.org/2004/02/skos/core#\n"
    "subject_id\tpredicate_id\tobject_id\tmapping_justification\tpredicate_modifier\n"
    "ex:a\tskos:exactMatch\tex:b\tsemapv:LexicalMatching\t\n"
)
BROKEN = {
    # what the writer wrote before values were quoted: not YAML
    "unquoted-colon": ("some links", "found by `mededkg link`: names"),
    "bad-justification": ("semapv:LexicalMatching", "semapv:Guesswork"),
    "undeclared-prefix": ("ex:b\t", "nowhere:b\t"),
    "bad-modifier": ("LexicalMatching\t\n", "LexicalMatching\tnot\n"),
}


def test_a_minimal_file_passes(tmp_path: Path) -> None:
    path = tmp_path / "good.sssom.tsv"
    path.write_text(GOOD, encoding="utf-8")
    _check(path)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_sssom_validate_fails_on_a_broken_file(tmp_path: Path, case: str) -> None:
    old, new = BROKEN[case]
    assert old in GOOD
    path = tmp_path / f"{case}.sssom.tsv"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    assert sssom_problems(path), case


# --- the writer's header ----------------------------------------------------------
@given(st.text())
def test_header_values_survive_yaml_and_our_reader(
    tmp_path_factory: pytest.TempPathFactory, value: str
) -> None:
    metadata = {"mapping_set_id": "https://example.org/set", "comment": value}
    text = write_sssom(metadata, {}, [])
    header = "\n".join(line[1:] for line in text.splitlines() if line[0] == "#")
    assert yaml.safe_load(header)["comment"] == value
    path = tmp_path_factory.mktemp("header") / "x.sssom.tsv"
    path.write_text(text, encoding="utf-8")
    assert read_sssom(path).metadata == metadata


def test_writer_refuses_a_set_level_slot_the_rows_contradict() -> None:
    row = {
        "subject_id": "ex:a",
        "predicate_id": "skos:exactMatch",
        "object_id": "ex:b",
        "mapping_justification": "semapv:ManualMappingCuration",
        "mapping_date": "2026-07-01",
    }
    with pytest.raises(ValueError, match="mapping_date"):
        write_sssom({"mapping_date": "2026-06-23"}, {}, [row])
    assert write_sssom({"mapping_date": "2026-07-01"}, {}, [row])
    assert write_sssom({"publication_date": "2026-06-23"}, {}, [row])


# --- the RDF ------------------------------------------------------------------------
def test_rdf_follows_the_sssom_rdf_format(tmp_path: Path) -> None:
    path = tmp_path / "x.sssom.tsv"
    path.write_text(
        GOOD.replace(
            "#curie_map:",
            # "2.1" unquoted would be a YAML number, not the string SSSOM wants
            '#mapping_set_version: "2.1"\n#publication_date: 2026-06-23\n'
            "#mapping_tool: a tool\n#curie_map:",
        )
        + "ex:a\tskos:exactMatch\tex:c\tsemapv:ManualMappingCuration\tNot\n",
        encoding="utf-8",
    )
    _check(path)
    graph = sssom_to_graph(path)
    ex, the_set = "https://example.org/", URIRef("https://example.org/set")
    assert (the_set, RDF.type, SSSOM.MappingSet) in graph
    assert graph.value(the_set, DCTERMS.license) == URIRef(
        "https://creativecommons.org/licenses/by/4.0/"
    )
    assert graph.value(the_set, DCTERMS.description) == Literal("some links")
    assert graph.value(the_set, OWL.versionInfo) == Literal("2.1")
    assert graph.value(the_set, DCTERMS.issued) == Literal(
        "2026-06-23", datatype=XSD.date
    )
    # a propagatable slot no row sets is every mapping's, not the set's
    assert graph.value(the_set, SSSOM.mapping_tool) is None
    mappings = set(graph.objects(the_set, SSSOM.mappings))
    assert len(mappings) == 2
    assert all((m, RDF.type, OWL.Axiom) in graph for m in mappings)
    assert all(
        graph.value(m, SSSOM.mapping_tool) == Literal("a tool") for m in mappings
    )
    (negated,) = graph.subjects(SSSOM.predicate_modifier, SSSOM.NegatedPredicate)
    assert negated in mappings
    assert graph.value(negated, OWL.annotatedTarget) == URIRef(ex + "c")
    # the positive mapping is stated, the negated one is not
    assert (URIRef(ex + "a"), SKOS.exactMatch, URIRef(ex + "b")) in graph
    assert (URIRef(ex + "a"), SKOS.exactMatch, URIRef(ex + "c")) not in graph


def _term(node: Node) -> object:
    """A node as compared: literals by value for doubles and dates (``1.000`` is
    ``1e+00``), and a plain literal is an ``xsd:string`` (RDF 1.1)."""
    if isinstance(node, Literal):
        if node.datatype in (XSD.double, XSD.date):
            return (node.datatype, node.toPython())
        return (str(node), node.language)
    return node


def _described(graph: Graph) -> tuple[object, Counter[frozenset[object]], set[object]]:
    """The set's own statements, each mapping's statements (mappings compared by
    content, whatever their node) and the direct triples."""
    (the_set,) = graph.subjects(RDF.type, SSSOM.MappingSet)
    mappings = set(graph.objects(the_set, SSSOM.mappings))
    own = {
        (p, _term(o))
        for p, o in graph.predicate_objects(the_set)
        if p != SSSOM.mappings
    }
    described = Counter(
        frozenset((p, _term(o)) for p, o in graph.predicate_objects(m))
        for m in mappings
    )
    direct = {t for t in graph if t[0] != the_set and t[0] not in mappings}
    return (the_set, own), described, direct


@pytest.mark.parametrize("name", [p.name for p in COMMITTED] + ["linker"])
def test_rdf_states_what_sssom_py_states(name: str, linker_file: Path) -> None:
    path = linker_file if name == "linker" else LINKS / name
    parsers, _, writers = _sssom_py()
    theirs = writers.to_rdf_graph(parsers.parse_sssom_table(str(path)), hydrate=True)
    ours = sssom_to_graph(path)
    (our_set, our_own), our_mappings, our_direct = _described(ours)
    (their_set, their_own), their_mappings, their_direct = _described(theirs)
    assert our_set == their_set
    assert our_own == their_own
    assert our_mappings == their_mappings
    assert our_direct == their_direct
    # the one deliberate difference: our mappings are named, not blank nodes
    assert all(isinstance(m, URIRef) for m in ours.objects(our_set, SSSOM.mappings))


def test_linker_columns_are_sssom_slots() -> None:
    assert set(LINK_COLUMNS) <= SLOT_KINDS.keys()
