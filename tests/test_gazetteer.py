"""The place gazetteer and the place-conflict rule (issue 16): reconciliation and link
discovery never confuse Henan with Hunan.

The named examples of the issue, each as a unit test of :func:`gazetteer.compare`,
through the real ``/reconcile`` endpoint (responses validated against the
Reconciliation API 0.2 schemas), and through the linker's matcher.
"""

from __future__ import annotations

from typing import Any

import pytest

from mededkg.matching import gazetteer
from mededkg.matching import link as linking
from mededkg.matching.gazetteer import CONFLICT, EQUAL, Place
from mededkg.matching.reconcile import RDFS, Index, Query, Statement
from tests.test_reconcile import post_queries

#: The issue's examples: a query, the institution it names (its Chinese and English
#: names) and the one a place away that used to win.
EXAMPLES = [
    pytest.param(
        "Henan University of Traditional Chinese Medicine",
        ("河南中医药大学", "Henan University of Chinese Medicine"),
        ("湖南中医药大学", "Hunan University of Chinese Medicine"),
        id="henan-not-hunan",
    ),
    pytest.param(
        "Jinzhou Medical University",
        ("锦州医科大学", "Jinzhou Medical University"),
        ("滨州医学院", "Binzhou Medical University"),
        id="jinzhou-not-binzhou",
    ),
    pytest.param(
        "Shaanxi University of Chinese Medicine",
        ("陕西中医药大学", "Shaanxi University of Chinese Medicine"),
        ("山西医科大学", "Shanxi Medical University"),
        id="shaanxi-not-shanxi",
    ),
    pytest.param(
        "Guangdong Medical University",
        ("广东医科大学", "Guangdong Medical University"),
        ("广西医科大学", "Guangxi Medical University"),
        id="guangdong-not-guangxi",
    ),
]
#: MOE codes of the rivals in the real graph.
RIVALS = {
    "Henan University of Traditional Chinese Medicine": "4143010541",  # 湖南中医药大学
    "Jinzhou Medical University": "4137010440",  # 滨州医学院
    "Shaanxi University of Chinese Medicine": "4114010114",  # 山西医科大学
    "Guangdong Medical University": "4145010598",  # 广西医科大学
}
RIGHT = {
    "Henan University of Traditional Chinese Medicine": "4141010471",
    "Jinzhou Medical University": "4121010160",
    "Shaanxi University of Chinese Medicine": "4161010716",
    "Guangdong Medical University": "4144010571",
}


def _places(*texts: str) -> frozenset[Place]:
    return frozenset().union(*(gazetteer.places_in(t) for t in texts))


# --- the gazetteer, from the sources --------------------------------------------------
@pytest.mark.parametrize(
    ("zh", "latin"),
    [
        ("河南", "henan"),
        ("湖南", "hunan"),
        ("陕西", "shaanxi"),
        ("山西", "shanxi"),
        ("广东", "guangdong"),
        ("广西", "guangxi"),
        ("锦州", "jinzhou"),
        ("滨州", "binzhou"),
        ("内蒙古", "innermongolia"),
    ],
)
def test_places_pair_chinese_and_latin_names_as_the_sources_do(
    zh: str, latin: str
) -> None:
    g = gazetteer.default()
    assert latin in g.latin[next(iter(g.by_zh[zh]))]
    assert zh in {p.zh for p in g.places_in(latin)}


def test_shaanxi_is_not_the_pinyin_shanxi() -> None:
    """陕西 and 山西 are both "Shanxi" in plain pinyin; ROR tells them apart."""
    g = gazetteer.default()
    assert {p.zh for p in g.places_in("Shanxi")} == {"山西"}
    assert {p.zh for p in g.places_in("Shaanxi")} == {"陕西"}
    assert g.province_code("Shaanxi") == "61" != g.province_code("Shanxi")


def test_homophones_the_sources_do_not_spell_apart_never_conflict() -> None:
    """泰州 (Jiangsu) and 台州 (Zhejiang) are both "Taizhou": an English name cannot
    tell which, so it rules out neither."""
    assert {p.zh for p in gazetteer.places_in("Taizhou")} == {"泰州", "台州"}
    assert not gazetteer.conflict("Taizhou People's Hospital", ["泰州市人民医院"])
    assert not gazetteer.conflict("Taizhou Hospital", ["台州医院"])


def test_provinces_and_codes_come_from_the_moe_list() -> None:
    g = gazetteer.default()
    assert len(g.codes) == 31  # the MOE list has no Hong Kong, Macao or Taiwan
    assert g.codes["河南"] == "41" and g.codes["湖南"] == "43"
    assert g.name(g.province("15") or Place("", "", ""), "en") == "Inner Mongolia"


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("Xúzhōu yī xuéyuàn", {"徐州"}),
        ("Ānhuī Zhōngyī xuéyuàn", {"安徽"}),
        ("Xi'an Jiaotong University", {"西安"}),
        ("河南中医药大学", {"河南"}),
        ("Capital Medical University", set()),
    ],
    ids=["tone-marks", "tone-marks-province", "apostrophe", "chinese", "no-place"],
)
def test_places_in_names(text: str, places: set[str]) -> None:
    assert {p.zh for p in gazetteer.places_in(text)} == places


def test_build_pairs_by_co_occurrence_and_majority() -> None:
    """The pairing rule on made-up rows: the ROR form met most often with a Chinese
    name wins; a city column shared by two named cities pairs neither; a form that
    is another place's pinyin is not taken."""
    moe = [
        {"moe_code": "4141010001", "authority": "河南省", "location": "郑州市"},
        {"moe_code": "4143010002", "authority": "湖南省", "location": "长沙市"},
    ]
    moe = [{**row, "name_zh": "某大学"} for row in moe]
    ror = [
        {"name_zh": "河南某医院", "province": "Henan", "city": "Zhengzhou"},
        {"name_zh": "郑州某医院", "province": "Henan", "city": "Zhengzhou"},
        {"name_zh": "郑州长沙联合医院", "province": "Henan", "city": "Changsha"},
        {"name_zh": "长沙某医院", "province": "Hunan", "city": "Zhengzhou"},
    ]
    g = gazetteer.build(moe, ror)
    assert g.codes == {"河南": "41", "湖南": "43"}
    zhengzhou = Place("郑州", "city", "河南")
    changsha = Place("长沙", "city", "湖南")
    assert g.latin[zhengzhou] == ("zhengzhou",)
    # "Zhengzhou" is 郑州's pinyin: not a form of 长沙, which keeps its own pinyin.
    assert g.latin[changsha] == ("changsha",)
    assert g.latin[Place("河南", "province", "河南")] == ("henan",)


# --- the comparison -------------------------------------------------------------------
@pytest.mark.parametrize(("query", "right", "rival"), EXAMPLES)
def test_a_place_one_letter_away_conflicts(
    query: str, right: tuple[str, ...], rival: tuple[str, ...]
) -> None:
    assert gazetteer.compare(_places(query), _places(*rival)) == CONFLICT
    assert gazetteer.conflict(query, rival)
    assert gazetteer.compare(_places(query), _places(*right)) == EQUAL
    assert not gazetteer.conflict(query, right)


def test_a_located_place_clears_a_conflict_but_never_makes_one() -> None:
    query = _places("The First Affiliated Hospital, Sun Yat-sen University, Guangzhou")
    hospital = _places("中山大学附属第一医院")  # names 中山, a city of Guangdong
    assert gazetteer.compare(query, hospital) == CONFLICT
    located = _places("广州市")
    assert gazetteer.compare(query, hospital, candidate_located=located) != CONFLICT
    # A name without a place is never ruled out by where the candidate is.
    assert gazetteer.compare(_places("Henan X"), set(), candidate_located=located) != (
        CONFLICT
    )


def test_cities_of_one_province_conflict() -> None:
    assert gazetteer.conflict("Zhengzhou University", ["新乡医学院"])
    assert not gazetteer.conflict("Zhengzhou University", ["河南大学"])


# --- reconciliation -------------------------------------------------------------------
@pytest.mark.server
def test_reconcile_never_prefers_a_place_one_letter_away(repo_live_url: str) -> None:
    queries = list(RIVALS)
    answer = post_queries(
        repo_live_url,
        # every institution of the MOE list is in the index: many candidates rank
        # between the right one and the rival, so ask for the most there may be
        {f"q{i}": {"query": q, "limit": 100} for i, q in enumerate(queries)},
    )
    for i, query in enumerate(queries):
        result = answer[f"q{i}"]["result"]
        ids = [c["id"] for c in result]
        assert ids[0] == "id/institution/" + RIGHT[query], query
        rival = "id/institution/" + RIVALS[query]
        assert rival in ids, query
        at = ids.index(rival)
        assert not result[at]["match"]
        assert {"id": "place", "value": -1} in result[at]["features"], query
        assert "not the candidate's" in result[at]["description"], query
        assert result[at]["score"] <= 50, query
        # Every candidate without a conflict (they score at least 50) ranks above
        # every candidate with one.
        conflicts = [{"id": "place", "value": -1} in c["features"] for c in result]
        first = conflicts.index(True)
        assert all(conflicts[first:]) and not any(conflicts[:first]), query
        assert all(c["score"] >= 50 for c in result[:first]), query
        assert all(c["score"] <= 50 for c in result[first:]), query


def _index(*entities: tuple[str, tuple[tuple[str, str], ...]]) -> Index:
    base = "https://example.org/"
    rows = [
        Statement(base + slug, RDFS + "label", name, lang)
        for slug, names in entities
        for name, lang in names
    ]
    return Index.build(base, rows, [], [])


@pytest.mark.parametrize(("query", "right", "rival"), EXAMPLES)
def test_the_rival_alone_is_never_a_match(
    query: str, right: tuple[str, ...], rival: tuple[str, ...]
) -> None:
    """The issue's case: the right institution has no English name, so the rival is
    the only candidate with a close name — it stays below 50 and is never sure."""
    index = _index(
        ("right", ((right[0], "zh"),)),
        ("rival", ((rival[0], "zh"), (rival[1], "en"))),
    )
    found = index.reconcile(Query(query))
    rivals = [c for c in found if c.entity.id == "rival"]
    assert rivals and not rivals[0].match and rivals[0].score <= 50
    # Its own name still finds it, for sure.
    own = index.reconcile(Query(rival[1]))
    assert own[0].entity.id == "rival" and own[0].match


def test_a_conflict_ranks_below_a_weaker_candidate_without_one() -> None:
    index = _index(
        ("hunan", (("Hunan University of Chinese Medicine", "en"),)),
        ("other", (("Henan Medical College", "en"),)),
    )
    found = index.reconcile(Query("Henan University of Traditional Chinese Medicine"))
    assert [c.entity.id for c in found] == ["other", "hunan"]
    assert found[0].score > found[1].score
    assert not any(c.match for c in found)


# --- link discovery -------------------------------------------------------------------
@pytest.mark.parametrize(("query", "right", "rival"), EXAMPLES)
def test_the_linker_never_pairs_conflicting_places(
    query: str, right: tuple[str, ...], rival: tuple[str, ...]
) -> None:
    entity = linking.Entity("urn:x:entity", query, (query,))
    records = [
        linking.TargetRecord("urn:x:rival", rival[1], (rival[1],)),
        linking.TargetRecord("urn:x:right", right[1], (right[1],)),
    ]
    found = linking.Matcher([entity]).add_all(records).candidates()
    assert [c.target.iri for c in found[entity.iri]] == ["urn:x:right"]


def test_the_linker_still_pairs_a_place_named_one_way_and_located_the_other() -> None:
    entity = linking.Entity(
        "urn:x:e", "中山大学附属第一医院", ("中山大学附属第一医院",), places=("广州",)
    )
    record = linking.TargetRecord(
        "urn:x:r",
        "中山大学附属第一医院 Guangzhou",
        ("中山大学附属第一医院", "First Affiliated Hospital Guangzhou"),
        places=("Guangzhou", "Guangdong"),
    )
    found: dict[str, Any] = linking.Matcher([entity]).add_all([record]).candidates()
    assert [c.target.iri for c in found["urn:x:e"]] == ["urn:x:r"]
