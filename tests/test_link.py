"""`mededkg link`: readers, matching, SSSOM output, curated rows, and the links in the
built graph (links graph, VoID linksets, CQ14); plus the measured quality."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import OWL, SKOS, URIRef
from rdflib.namespace import VOID

from mededkg.cli import main
from mededkg.matching import link as linking
from mededkg.matching.names import is_chinese
from mededkg.matching.sssom import read_sssom, sssom_to_graph
from mededkg.namespaces import LINKS_GRAPH, SSSOM, graph_iri
from mededkg.pipeline.build import build
from mededkg.pipeline.load import project_sources
from mededkg.pipeline.void import void_description
from mededkg.query.gate import Limits, SelectResult, execute
from mededkg.resources import default_root
from mededkg.storage import EmbeddedStore
from tests.conftest import FIXTURE_ROOT, make_config

HERE = Path(__file__).parent / "data" / "link"
ROR = "https://ror.org/"
CAPITAL = "https://w3id.org/mededkg/id/institution/4111010025"
CAPITAL_ROR = ROR + "013xs5b60"
BASE = "https://w3id.org/mededkg/"


def _entity(*names: str, places: tuple[str, ...] = ()) -> linking.Entity:
    return linking.Entity(CAPITAL, names[0], names, places=places)


# --- readers ----------------------------------------------------------------------
def test_ror_reader_reads_both_schemas() -> None:
    records = {r.iri: r for r in linking.read_ror_json(HERE / "ror-sample.json")}
    capital = records[CAPITAL_ROR]  # schema v2
    assert capital.label == "Capital Medical University"
    assert "首都医科大学" in capital.names
    assert "ccmu.edu.cn" in capital.domains
    assert "CCMU" in capital.acronyms
    assert "beijing" in capital.places
    withdrawn = records[ROR + "03k43kf60"]  # schema v1
    assert not withdrawn.active
    assert withdrawn.label == "Capital Institute of Physical Education and Sports"


def test_ror_reader_streams(tmp_path: Path) -> None:
    # A dump cut off after its first record: that record arrives before the error,
    # so the file was never loaded whole.
    text = (HERE / "ror-sample.json").read_text(encoding="utf-8")
    second = text.index('{\n  "admin"', text.index('"admin"') + 1)
    cut = tmp_path / "cut.json"
    cut.write_text(text[:second] + '{"id": ', encoding="utf-8")
    records = linking.read_ror_json(cut)
    assert next(records).iri.startswith(ROR)
    with pytest.raises(linking.LinkError, match=r"cut\.json: not valid JSON"):
        list(records)


def test_hipo_reader_mints_iris_from_the_web_domain() -> None:
    records = list(linking.read_hipo(HERE / "hipo-sample.json"))
    assert {r.iri for r in records} >= {linking.HIPO_NAMESPACE + "cnu.edu.cn"}
    assert all(r.domains for r in records)
    assert not any(
        r.domains
        for r in linking.read_hipo(HERE / "hipo-sample.json", use_domains=False)
    )


@pytest.mark.parametrize("suffix", ["csv", "tsv"])
def test_table_reader(suffix: str) -> None:
    records = list(
        linking.read_table(
            HERE / f"ror-sample.{suffix}",
            id_column="ror_id",
            name_columns=["name", "name_zh"],
        )
    )
    capital = next(r for r in records if r.iri == CAPITAL_ROR)
    assert {"Capital Medical University", "首都医科大学"} <= set(capital.names)
    assert capital.acronyms == ("CCMU", "CMU", "CUMS")
    assert capital.domains == ("ccmu.edu.cn",)


def test_table_reader_names_the_missing_column() -> None:
    with pytest.raises(
        linking.LinkError, match=r"ror-sample.csv: no column 'id'.*ror_id"
    ):
        list(
            linking.read_table(
                HERE / "ror-sample.csv", id_column="id", name_columns=["name"]
            )
        )


def test_rdf_reader() -> None:
    records = {r.iri: r for r in linking.read_rdf(HERE / "ror-sample.ttl")}
    assert "首都医科大学" in records[CAPITAL_ROR].names
    assert records[CAPITAL_ROR].acronyms == ("CCMU",)
    assert records[CAPITAL_ROR].domains == ("ccmu.edu.cn",)


def test_rdf_reader_reports_syntax_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("<a> <b> .\n", encoding="utf-8")
    with pytest.raises(linking.LinkError, match=r"bad\.ttl: RDF syntax error"):
        list(linking.read_rdf(bad))


@pytest.mark.server
def test_sparql_reader(live_url: str) -> None:
    records = {r.iri: r for r in linking.read_sparql(live_url + "/sparql")}
    assert {"首都医科大学", "Capital Medical University"} <= set(records[CAPITAL].names)


def test_sparql_reader_reports_an_unreachable_endpoint() -> None:
    with pytest.raises(linking.LinkError, match="the SPARQL query failed"):
        list(linking.read_sparql("http://127.0.0.1:9/sparql"))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ror-sample.json", "ror"),
        ("hipo-sample.json", "hipo"),
        ("ror-sample.csv", "table"),
        ("ror-sample.ttl", "rdf"),
    ],
)
def test_detect_kind(name: str, kind: str) -> None:
    assert linking.detect_kind(str(HERE / name)) == kind


def test_bad_target_file(tmp_path: Path) -> None:
    bad = tmp_path / "list.json"
    bad.write_text('[{"title": "x"}]', encoding="utf-8")
    with pytest.raises(
        linking.LinkError, match=r"list\.json: a JSON array, but its first"
    ):
        linking.detect_kind(str(bad))


# --- matching ----------------------------------------------------------------------
def test_exact_chinese_name_beats_the_rivals() -> None:
    records = list(linking.read_ror_json(HERE / "ror-sample.json"))
    result, _ = linking.link([_entity("首都医科大学")], records)
    (decision,) = result.accepted
    assert decision.candidate.target.iri == CAPITAL_ROR
    assert decision.predicate == "skos:exactMatch"
    assert "equals" in decision.candidate.justification


def test_typo_goes_to_review_and_unknown_is_unlinked() -> None:
    records = list(linking.read_ror_json(HERE / "ror-sample.json"))
    entities = [
        linking.Entity(
            "urn:x:typo",
            "Capital Normal Institute of Arts",
            ("Capital Normal Institute of Arts",),
        ),
        linking.Entity("urn:x:none", "Nowhere College", ("Nowhere College",)),
    ]
    result, _ = linking.link(entities, records)
    assert not result.accepted
    assert [d.candidate.entity.iri for d in result.review] == ["urn:x:typo"]
    assert [e.iri for e in result.unlinked] == ["urn:x:none"]


def test_existing_mapping_to_another_record_goes_to_review() -> None:
    records = list(linking.read_ror_json(HERE / "ror-sample.json"))
    existing = {CAPITAL: {ROR + "005edt527": "other.sssom.tsv"}}
    result, _ = linking.link([_entity("首都医科大学")], records, existing=existing)
    assert not result.accepted
    assert "already mapped to" in result.review[0].reason


def _record(
    iri: str, *names: str, places: tuple[str, ...] = ()
) -> linking.TargetRecord:
    return linking.TargetRecord(iri, names[0], names, places=places)


def test_a_chinese_name_finds_its_transliteration_and_its_english_reading() -> None:
    # Records in Latin letters only: ROR's pinyin alias of 辽宁医学院 and the English
    # name of 黄淮学院 (its proper part is the pinyin of the Chinese name).
    records = [
        _record(ROR + "a", "Liaoning Medical University", "Liáoníng Yīxuéyuàn"),
        _record(ROR + "b", "Huanghuai University"),
        _record(ROR + "c", "Huaihai Institute of Technology"),
    ]
    entities = [
        linking.Entity("urn:x:lnmc", "辽宁医学院", ("辽宁医学院",)),
        linking.Entity("urn:x:hh", "黄淮学院", ("黄淮学院",)),
    ]
    result, _ = linking.link(entities, records)
    found = {d.candidate.entity.iri: d.candidate for d in result.accepted}
    assert found["urn:x:lnmc"].target.iri == ROR + "a"
    assert "read the same in pinyin" in found["urn:x:lnmc"].justification
    assert found["urn:x:hh"].target.iri == ROR + "b"
    assert "reads “huanghuai”" in found["urn:x:hh"].justification


def test_an_entity_that_loses_its_best_record_falls_back_on_the_next() -> None:
    # 湖南科技学院's machine-translated English name is the name of another record;
    # the record goes to the entity that scores best on it, and the loser is linked
    # through ROR's pinyin alias of its Chinese name.
    records = [
        _record(
            ROR + "hnust",
            "Hunan University of Science and Technology",
            places=("xiangtan",),
        ),
        linking.TargetRecord(
            ROR + "huse",
            "Hunan University of Science and Engineering",
            ("Hunan University of Science and Engineering", "Húnán Kējì Xuéyuàn"),
            aliases=("Húnán Kējì Xuéyuàn",),
        ),
    ]
    entities = [
        linking.Entity(
            "urn:x:hnust",
            "湖南科技大学",
            ("湖南科技大学", "Hunan University of Science and Technology"),
            places=("xiangtan",),
        ),
        linking.Entity(
            "urn:x:huse",
            "湖南科技学院",
            ("湖南科技学院", "Hunan University of Science and Technology"),
        ),
    ]  # fmt: skip
    result, _ = linking.link(entities, records)
    found = {d.candidate.entity.iri: d.candidate.target.iri for d in result.accepted}
    assert found == {"urn:x:hnust": ROR + "hnust", "urn:x:huse": ROR + "huse"}


def test_a_tie_on_one_record_links_neither() -> None:
    records = [_record(ROR + "w", "Wuhan University")]
    entities = [
        linking.Entity("urn:x:1", "武汉大学", ("武汉大学", "Wuhan University")),
        linking.Entity("urn:x:2", "武汉学院", ("武汉学院", "Wuhan University")),
    ]
    result, _ = linking.link(entities, records)
    assert not result.accepted
    assert {d.candidate.entity.iri for d in result.review} == {"urn:x:1", "urn:x:2"}
    assert all("also the best match" in d.reason for d in result.review)


def _ror_china(*iris: str) -> list[linking.TargetRecord]:
    """The named records of the committed ROR China extract, as the linker reads
    them, in the order named."""
    sources = default_root() / "data" / "sources" / "ror-china"
    records = [
        r
        for name in (
            "ror_cn_records_schema_v2.json",
            "ror_cn_records_schema_v1_only.json",
        )
        for r in linking.read_ror_json(sources / name)
    ]
    found = {r.iri: r for r in records}
    return [found[iri] for iri in iris]


def test_ror_reader_keeps_what_kind_of_organisation_a_record_is() -> None:
    ucas, cas = _ror_china(ROR + "05qbk4x57", ROR + "034t30j35")
    assert "education" in ucas.kinds
    assert "education" not in cas.kinds


def test_a_record_of_another_kind_ranks_below_the_university_named_alike() -> None:
    # The MOE list's machine translation of 中国科学院大学 folds onto both the
    # Academy (a government/funder record) and its university (education); the
    # records' Chinese names are left out, as in bench/link_quality.py.
    records = [
        replace(r, names=tuple(n for n in r.names if not is_chinese(n)))
        for r in _ror_china(ROR + "05qbk4x57", ROR + "034t30j35")
    ]
    entity = linking.Entity(
        "urn:x:ucas",
        "中国科学院大学",
        ("中国科学院大学", "Chinese Academy of Sciences University"),
    )
    without, _ = linking.link([entity], records)
    assert not without.accepted  # the two tie: ambiguous
    result, _ = linking.link(
        [entity], records, kinds=linking.RECORD_KINDS["institutions"]
    )
    (decision,) = result.accepted
    assert decision.candidate.target.iri == ROR + "05qbk4x57"
    matcher = linking.Matcher([entity], kinds=("education",)).add_all(records)
    (ucas, cas) = matcher.candidates()["urn:x:ucas"]
    assert ucas.target.iri == ROR + "05qbk4x57"
    assert "not education" in cas.justification
    assert ucas.score - cas.score == pytest.approx(linking.KIND_PENALTY)


@pytest.mark.parametrize(
    ("entity_name", "record_name"),
    [
        # a bracketed acronym after the name (太原理工大学 in the MOE list)
        ("Taiyuan University of Technology (TYUT)", "Taiyuan University of Technology"),
        # zero-width spaces copied along with a name (广东省外语艺术职业学院)
        (
            "Foreign Languages\u200b\u200b and Arts College",
            "Foreign Languages and Arts College",
        ),
    ],
)
def test_invisible_and_bracketed_extras_leave_the_name_equal(
    entity_name: str, record_name: str
) -> None:
    records = [_record(ROR + "r", record_name)]
    result, _ = linking.link(
        [linking.Entity("urn:x:e", entity_name, (entity_name,))], records
    )
    (decision,) = result.accepted
    assert decision.candidate.score >= 1.0
    assert "equals" in decision.candidate.justification


def test_a_numbered_name_folds_onto_its_ordinal() -> None:
    # 山东第一医科大学: "Shandong No.1 Medical University" in the MOE list, "Shandong
    # First Medical University" in ROR.
    records = [_record(ROR + "r", "Shandong First Medical University")]
    entity = linking.Entity(
        "urn:x:e", "山东第一医科大学", ("Shandong No.1 Medical University",)
    )
    result, _ = linking.link([entity], records)
    (decision,) = result.accepted
    assert "folding" in decision.candidate.justification


# --- the command, its files, and the build ----------------------------------------
@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE_ROOT, root)
    return root


def _link(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        ["link", "--root", str(root), "--entities", "institutions", *args],
    )
    return result.exit_code, result.output


def test_cli_writes_sssom_and_review_deterministically(project: Path) -> None:
    target = str(HERE / "ror-sample.json")
    code, output = _link(project, "--target", target, "--date", "2026-06-23")
    assert code == 0, output
    sssom = project / "data" / "links" / "institutions-ror.sssom.tsv"
    review = project / "data" / "links" / "review" / "institutions-ror.review.tsv"
    first = sssom.read_bytes(), review.read_bytes()
    code, output = _link(project, "--target", target)
    assert code == 0, output
    assert (sssom.read_bytes(), review.read_bytes()) == first
    mapping_set = read_sssom(sssom)
    (row,) = mapping_set.rows
    assert (row["subject_id"], row["object_id"]) == (
        "institution:4111010025",
        "ror:013xs5b60",
    )
    assert row["mapping_date"] == "2026-06-23"
    assert row["author_label"] == linking.TOOL_AUTHOR
    assert row["mapping_tool_version"] == linking.tool_version()
    graph = sssom_to_graph(sssom)
    assert (URIRef(CAPITAL), SKOS.exactMatch, URIRef(CAPITAL_ROR)) in graph


def test_cli_translate_weighs_the_chinese_names_translation(project: Path) -> None:
    target = str(HERE / "ror-sample.json")
    sssom = project / "data" / "links" / "institutions-ror.sssom.tsv"
    code, output = _link(project, "--target", target, "--date", "2026-06-23")
    assert code == 0, output
    (plain,) = read_sssom(sssom).rows
    assert "translates" not in plain["comment"]
    code, output = _link(project, "--target", target, "--translate", "--force")
    assert code == 0, output
    (row,) = read_sssom(sssom).rows
    assert row["object_id"] == plain["object_id"]
    assert "translates" in row["comment"], row["comment"]


def test_bad_target_exits_2_naming_the_file(project: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("[{", encoding="utf-8")
    code, output = _link(project, "--target", str(bad))
    assert code == 2
    assert "broken.json" in output


def test_curated_rows_are_kept_and_tool_changes_need_force(project: Path) -> None:
    target = str(HERE / "ror-sample.json")
    assert _link(project, "--target", target, "--date", "2026-06-23")[0] == 0
    sssom = project / "data" / "links" / "institutions-ror.sssom.tsv"
    text = sssom.read_text(encoding="utf-8")
    # A curator adds a reviewed closeMatch to another record.
    curated = (
        "institution:4111010025\t首都医科大学\tskos:closeMatch\tror:005edt527\t"
        "Capital Normal University\tsemapv:ManualMappingCuration\t0.5\tA Curator\t"
        "2026-07-01\t\t\tshares a campus\tA Curator\t\n"
    )
    sssom.write_text(text + curated, encoding="utf-8")
    assert _link(project, "--target", target)[0] == 0
    assert curated in sssom.read_text(encoding="utf-8")
    # The tool's own row differs from what it finds now (an older run, say):
    # refused without --force, replaced with it, the curated row kept either way.
    older = sssom.read_text(encoding="utf-8").replace("\t1.000\t", "\t0.950\t")
    sssom.write_text(older, encoding="utf-8")
    code, output = _link(project, "--target", target)
    assert code == 2 and "--force" in output
    assert sssom.read_text(encoding="utf-8") == older
    code, output = _link(project, "--target", target, "--force")
    assert code == 0, output
    after = sssom.read_text(encoding="utf-8")
    assert curated in after and "ror:013xs5b60\t" in after and "0.950" not in after


def test_negated_rows_state_no_link(tmp_path: Path) -> None:
    path = tmp_path / "x.sssom.tsv"
    path.write_text(
        "#curie_map:\n#  ror: https://ror.org/\n"
        "subject_id\tpredicate_id\tobject_id\tmapping_justification\tpredicate_modifier\n"
        f"<{CAPITAL}>\tskos:exactMatch\tror:005edt527\tsemapv:ManualMappingCuration\tNot\n".replace(
            f"<{CAPITAL}>", CAPITAL
        ),
        encoding="utf-8",
    )
    graph = sssom_to_graph(path)
    # kept as a negated mapping (SSSOM/RDF), but the link itself is not stated
    assert (URIRef(CAPITAL), SKOS.exactMatch, URIRef(ROR + "005edt527")) not in graph
    (axiom,) = graph.subjects(SSSOM.predicate_modifier, SSSOM.NegatedPredicate)
    assert graph.value(axiom, OWL.annotatedSource) == URIRef(CAPITAL)


def test_links_reach_the_links_graph_void_and_cq14(
    project: Path, tmp_path: Path
) -> None:
    assert _link(project, "--target", str(HERE / "ror-sample.json"))[0] == 0
    assert _link(project, "--target", str(HERE / "hipo-sample.json"))[0] == 0
    sources = {s.path.name for s in project_sources(project)}
    assert "institutions-ror.sssom.tsv" in sources
    assert not any(name.endswith(".review.tsv") for name in sources)
    config = make_config(project, tmp_path / "store")
    result = build(config)
    links = result.dataset.graph(graph_iri(BASE, LINKS_GRAPH))
    assert (URIRef(CAPITAL), SKOS.exactMatch, URIRef(CAPITAL_ROR)) in links
    store = EmbeddedStore.open(config.store_path)
    void = void_description(store, base_iri=BASE, endpoint="http://x/sparql")
    linksets = {
        (str(void.value(t, VOID.uriSpace)), str(void.value(ls, VOID.linkPredicate)))
        for ls in void.subjects(VOID.linkPredicate, None)
        for t in void.objects(ls, VOID.objectsTarget)
    }
    assert (ROR, str(SKOS.exactMatch)) in linksets
    cq14 = (default_root() / "queries" / "cq14-external-links.rq").read_text(
        encoding="utf-8"
    )
    rows = execute(store, cq14, limits=Limits(30, 10_000))
    assert isinstance(rows, SelectResult)
    found = [
        {
            v: (t.value if t is not None else None)
            for v, t in zip(rows.variables, r, strict=True)
        }
        for r in rows.rows
    ]
    assert {
        "status": "linked",
        "entity": CAPITAL,
        "predicate": str(SKOS.exactMatch),
        "target": CAPITAL_ROR,
    }.items() <= next(r for r in found if r["target"] == CAPITAL_ROR).items()
    assert any(
        r["mapping_set"].endswith("institutions-ror") for r in found if r["mapping_set"]
    )


# --- the real linksets and the measured quality -----------------------------------
def test_committed_linksets_parse_and_are_tool_or_curated() -> None:
    links = default_root() / "data" / "links"
    for name in ("institutions-ror.sssom.tsv", "institutions-hipo.sssom.tsv"):
        mapping_set = read_sssom(links / name)
        assert mapping_set.rows
        assert len(sssom_to_graph(links / name)) > len(mapping_set.rows)
        assert (links / "review" / name.replace(".sssom.tsv", ".review.tsv")).is_file()


def _bench() -> object:
    path = default_root() / "bench" / "link_quality.py"
    spec = importlib.util.spec_from_file_location("link_quality", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["link_quality"] = module
    spec.loader.exec_module(module)
    return module


def test_quality_on_the_hipo_ror_gold_standard() -> None:
    bench = _bench()
    results = bench.run([bench.hipo_task()], sweep=())  # type: ignore[attr-defined]
    chosen = results["tasks"][0]["chosen"]
    assert chosen["gold_pairs"] >= 200
    assert chosen["precision"] >= 0.98, json.dumps(chosen, indent=1)
    assert chosen["recall"] >= 0.90, json.dumps(chosen, indent=1)
