"""The one name comparison behind `mededkg link`, `/reconcile` and search
(:mod:`mededkg.matching.similarity`): each score rule with a name pair from the
sources."""

from __future__ import annotations

import pytest

from mededkg.matching import similarity
from mededkg.matching.similarity import (
    EQUAL,
    EQUAL_BUT_SPACES,
    FOLDED,
    PLACE_DROPPED,
    SAME_PINYIN,
    SAME_READING,
)


def score(a: str, b: str, places: frozenset[str] = frozenset()) -> float:
    left, right = similarity.keys([a])[0], similarity.keys([b])[0]
    return similarity.pair(left, right, places).score


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Capital Medical University", "CAPITAL MEDICAL UNIVERSITY", EQUAL),
        ("上海中醫藥大學", "上海中医药大学", EQUAL),
        ("Huanghuai University", "Huang huai University", EQUAL_BUT_SPACES),
        ("辽宁医学院", "Liáoníng Yīxuéyuàn", SAME_PINYIN),
        ("武汉轻工大学", "Wuhan QingGong DaXue", SAME_PINYIN),
        ("Anhui Medical College", "Anhui Medical University", FOLDED),
        ("锦州医科大学", "Jinzhou Medical University", SAME_READING),
        ("黄淮学院", "Huanghuai University", SAME_READING),
    ],
)
def test_each_rule_scores_as_documented(a: str, b: str, expected: float) -> None:
    assert score(a, b) == expected
    assert score(b, a) == expected  # symmetric


def test_a_place_the_candidate_is_in_may_be_dropped() -> None:
    located = frozenset({"suzhou", "shenyang"})
    assert score("苏州大学（苏州市）", "苏州大学", located) == PLACE_DROPPED
    assert (
        score("China Medical University Shenyang", "China Medical University", located)
        == PLACE_DROPPED
    )
    # not a place the candidate is in: only similar
    assert score("苏州大学（苏州市）", "苏州大学", frozenset({"wuxi"})) < FOLDED


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # a different kind: medical against generic
        ("锦州医科大学", "Jinzhou University"),
        # translated words are not read as pinyin
        ("河南工业大学", "Henan University of Technology"),
        # homophones in one script are different names
        ("泰州学院", "台州学院"),
        # a proper part too short to rest on
        ("齐大学", "Qi University"),
    ],
)
def test_readings_do_not_stretch(a: str, b: str) -> None:
    assert score(a, b) < SAME_READING


def test_an_alias_scores_less_than_the_own_name() -> None:
    entity = similarity.keys(["Liaoning Medical University"])
    record = similarity.keys(
        ["Jinzhou Medical University", "Liaoning Medical University"]
    )
    own = similarity.best(entity, record)
    assert own.score == EQUAL
    alias = similarity.best(
        entity, record, aliases=frozenset({"liaoning medical university"})
    )
    assert alias.score == EQUAL - similarity.ALIAS_PENALTY
    assert "alias or former name" in alias.why


def test_pinyin_and_initials_of_chinese_names() -> None:
    assert similarity.pinyin("首都医科大学") == "shouduyikedaxue"
    assert similarity.pinyin("Shǒudū Yīkē Dàxué") == "shouduyikedaxue"
    assert similarity.initials("首都医科大学") == "sdykdx"
    assert similarity.initials("Capital Medical University") == ""


def test_ror_predecessors_names_are_former_names_with_their_record() -> None:
    from rdflib import Graph, Literal, URIRef
    from rdflib.namespace import PROV, SKOS

    from mededkg.resources import default_root

    graph = Graph().parse(default_root() / "data" / "ror.ttl")
    ncst = URIRef("https://w3id.org/mededkg/id/institution/4113010081")
    assert Literal("North China Coal Medical University", lang="en") in set(
        graph.objects(ncst, SKOS.altLabel)
    )
    assert URIRef("https://ror.org/006hksj32") in set(
        graph.objects(ncst, PROV.wasDerivedFrom)
    )
    notes = [str(n) for n in graph.objects(ncst, SKOS.historyNote)]
    assert any("006hksj32" in n and "predecessor" in n for n in notes)
