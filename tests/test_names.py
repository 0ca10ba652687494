"""Name normalisation for linking: the same name written differently, variants of one
institution's name, acronyms and places."""

from __future__ import annotations

import pytest

from mededkg.matching import names


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param(
            "Ｃａｐｉｔａｌ Medical University",
            "capital medical university",
            id="full-width",
        ),
        pytest.param("上海中醫藥大學", "上海中医药大学", id="traditional-simplified"),
        pytest.param(
            "首都医科大学（本部）", "首都医科大学 本部", id="brackets-and-spaces"
        ),
        pytest.param(
            "The University of Hong Kong", "University of Hong Kong", id="leading-the"
        ),
        pytest.param(
            "Political Science & Law", "political science and law", id="ampersand"
        ),
        pytest.param("Xī’ān Jiāotōng", "Xi'an Jiaotong", id="diacritics-and-quotes"),
    ],
)
def test_same_name_written_differently(left: str, right: str) -> None:
    assert names.normalise(left) == names.normalise(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param(
            "Anhui Medical College", "Anhui Medical University", id="college-university"
        ),
        pytest.param(
            "Hubei University of Medicine", "Hubei Medical University", id="of-medicine"
        ),
        pytest.param(
            "Guangzhou University of Traditional Chinese Medicine",
            "Guangzhou University of Chinese Medicine",
            id="tcm",
        ),
        pytest.param(
            "4th Military Medical University",
            "Fourth Military Medical University",
            id="ordinal",
        ),
        pytest.param("徐州医学院", "徐州医科大学", id="zh-college-university"),
        pytest.param("广东药学院", "广东药科大学", id="zh-pharmacy"),
        pytest.param("山东中医学院", "山东中医药大学", id="zh-tcm"),
    ],
)
def test_variants_fold_together(left: str, right: str) -> None:
    assert names.fold(left) == names.fold(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param(
            "安徽医学高等专科学校", "安徽医科大学", id="vocational-vs-university"
        ),
        pytest.param("江苏卫生健康职业学院", "江苏卫生健康学院", id="vocational-kept"),
        pytest.param("Anhui University", "Anhui Medical University", id="medical-kept"),
        pytest.param(
            "Shandong Academy of Medical Sciences",
            "Shandong Medical University",
            id="academy-kept",
        ),
        pytest.param("山西医科大学", "陕西医科大学", id="different-province"),
    ],
)
def test_different_institutions_stay_apart(left: str, right: str) -> None:
    assert names.fold(left) != names.fold(right)


def test_acronyms() -> None:
    assert names.acronym("Capital Medical University") == "CMU"


def test_tokens_block_on_distinctive_words_and_bigrams() -> None:
    assert names.tokens("Capital Medical University") == {"capital", "medical"}
    assert "首都" in names.tokens("首都医科大学")
    assert not names.tokens("University")
