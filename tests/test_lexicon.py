"""The word table learned from names in both scripts (mededkg.matching.lexicon) and its
use by `mededkg link --translate`."""

from __future__ import annotations

import functools

from mededkg.matching import lexicon
from mededkg.matching import link as linking
from mededkg.resources import default_root

ROR_SOURCES = default_root() / "data" / "sources" / "ror-china"


@functools.lru_cache(maxsize=1)
def _ror_words() -> lexicon.Lexicon:
    """The table learned from every ROR record of the sources named in both scripts."""
    records = [
        r
        for path in sorted(ROR_SOURCES.glob("*.json"))
        for r in linking.read_ror_json(path)
    ]
    return lexicon.learn(lexicon.pairs(r.names for r in records))


def test_pairs_are_each_organisations_chinese_and_english_names() -> None:
    found = lexicon.pairs(
        [("长春工程学院", "Changchun Institute of Technology", "CIT")]
    )
    assert found == [
        ("长春工程学院", "Changchun Institute of Technology"),
        ("长春工程学院", "CIT"),
    ]
    assert lexicon.pairs([("Only English",), ("只有中文",)]) == []


def test_learning_pairs_words_not_places() -> None:
    # The place is spelled out in pinyin and removed before counting, so the place
    # names never become translations of the words around them.
    words = lexicon.learn(
        [
            ("长春工程学院", "Changchun Institute of Engineering"),
            ("北京工程学院", "Beijing Institute of Engineering"),
            ("南京工程学院", "Nanjing Institute of Engineering"),
        ]
    )
    assert words.pairs == 3
    assert words.table["工程"]["engineering"] > 0.5
    assert "长春" not in words.table
    assert all("changchun" not in found for found in words.table.values())


def test_a_name_spelled_in_pinyin_translates_without_the_table() -> None:
    found = lexicon.translation(lexicon.Lexicon(), "杉达", "Shanda")
    assert found.coverage == 1.0
    assert found.pieces == (("杉达", "shanda"),)


def test_an_unexplained_character_or_word_lowers_the_coverage() -> None:
    words = _ror_words()
    full = lexicon.translation(
        words, "西安邮电大学", "Xi’an University of Posts and Telecommunications"
    )
    short = lexicon.translation(
        words, "北京第二外国语学院", "Beijing International Studies University"
    )
    assert full.coverage > 0.9
    assert short.coverage < 0.7


def test_the_chinese_name_that_says_the_english_words_translates_better() -> None:
    # Two MOE institutions whose machine-translated English names are the same ROR
    # record's name: the word table says which Chinese name that name translates.
    words = _ror_words()
    for right, wrong, english in (
        ("武汉大学", "武汉学院", "Wuhan University"),
        ("太原理工大学", "太原工业学院", "Taiyuan University of Technology"),
        ("新乡医学院", "河南医学高等专科学校", "Xinxiang Medical University"),
    ):
        assert (
            lexicon.translation(words, right, english).coverage
            > lexicon.translation(words, wrong, english).coverage
        ), (right, wrong, english)


def test_translate_links_the_entity_whose_chinese_name_agrees() -> None:
    # 武汉大学 and 武汉学院 both call themselves "Wuhan University" (the MOE list's
    # machine translation): without the word table the record is claimed by both and
    # linked to neither; with it, 武汉大学's claim is the stronger.
    university = linking.Entity("moe:1", "武汉大学", ("武汉大学", "Wuhan University"))
    college = linking.Entity("moe:2", "武汉学院", ("武汉学院", "Wuhan University"))
    record = linking.TargetRecord(
        "https://ror.org/033vjfk17",
        "Wuhan University",
        ("Wuhan University",),
        places=("wuhan",),
    )
    entities = [university, college]
    plain, _ = linking.link(entities, [record], use_domains=False)
    assert not plain.accepted
    translated, _ = linking.link(
        entities, [record], use_domains=False, words=_ror_words()
    )
    (accepted,) = translated.accepted
    assert accepted.candidate.entity.iri == "moe:1"
    assert any("translates" in e for e in accepted.candidate.evidence)


def test_the_word_table_is_learned_from_the_sources_not_typed() -> None:
    # No translation is written in the module: an empty table explains only spellings.
    found = lexicon.translation(lexicon.Lexicon(), "武汉大学", "Wuhan University")
    assert found.pieces == (("武汉", "wuhan"),)
    assert found.coverage < 0.5
    assert len(_ror_words()) > 1000
