"""The importer: same sources → byte-identical files; rules applied to the full list;
programme CSVs checked row by row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mededkg.errors import LoadError
from mededkg.importer import import_all, import_programmes
from mededkg.importer.institutions import is_medical, kind, province
from mededkg.namespaces import MEDEDKG
from mededkg.resources import default_root

DATA = default_root() / "data"
GENERATED = [
    "institutions.ttl",
    "ror.ttl",
    "hospitals.ttl",
    "disciplines.ttl",
    "isced.ttl",
    "sources.ttl",
    "links/ror-wikidata.sssom.tsv",
    "reports/ror-join-unmatched.csv",
]


def test_regenerating_gives_the_committed_bytes(tmp_path: Path) -> None:
    written = import_all(DATA / "sources", tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(
        GENERATED
    )
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_two_runs_are_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    import_all(DATA / "sources", first)
    import_all(DATA / "sources", second)
    for name in GENERATED:
        assert (first / name).read_bytes() == (second / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "level", "expected"),
    [
        ("北京中医药大学", "本科", "TCMUniversity"),
        ("天津医学高等专科学校", "专科", "MedicalUniversity"),
        ("郑州黄河护理职业学院", "专科", "NursingCollege"),
        ("中国药科大学", "本科", "PharmacyCollege"),
        ("甘肃卫生职业学院", "专科", "HealthVocationalCollege"),
        ("江苏医药职业学院", "专科", "HealthVocationalCollege"),
        ("首都医科大学", "本科", "MedicalUniversity"),
        ("湖北医药学院", "本科", "MedicalUniversity"),
        ("广东药科大学", "本科", "PharmacyCollege"),
    ],
)
def test_kind_rule(name: str, level: str, expected: str) -> None:
    assert kind(name, level) == MEDEDKG[expected]


def test_medical_rule_and_province_rule() -> None:
    assert is_medical("广东食品药品职业学院") and not is_medical("北京大学")
    assert province("广西壮族自治区教育厅", "南宁市") == "广西壮族自治区"
    assert province("国家卫生健康委员会", "北京市") is None


def test_programme_rows_become_triples(tmp_path: Path) -> None:
    out = import_programmes(
        DATA / "examples" / "programmes-example.csv", tmp_path / "p.ttl"
    )
    text = out.read_text(encoding="utf-8")
    assert text.count("a mededkg:Programme") == 3
    assert "EXAMPLE" in text


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("institution", "Peking", "MOE code or a ROR id"),
        ("programme_kind", "surgery", "programme_kind"),
        ("discipline_code", "10020", "2, 4 or 6 digits"),
        ("catalogue_edition", "2030", "catalogue_edition"),
        ("source_url", "", "needs its source"),
        ("start_year", "21", "start_year"),
    ],
)
def test_bad_programme_row_names_file_and_line(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    source = DATA / "examples" / "programmes-example.csv"
    lines = source.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index(column)] = value
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "\n".join([lines[0], lines[1], ",".join(cells)]) + "\n", encoding="utf-8"
    )
    with pytest.raises(LoadError, match=message) as caught:
        import_programmes(bad, tmp_path / "out.ttl")
    assert caught.value.line == 3
    assert not (tmp_path / "out.ttl").exists()


def test_missing_column_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("institution,programme_kind\n4111010025,nursing\n", encoding="utf-8")
    with pytest.raises(LoadError, match="missing column"):
        import_programmes(bad, tmp_path / "out.ttl")


def test_sources_are_self_contained(tmp_path: Path) -> None:
    # The importer reads only data/sources: a copy of that folder alone is enough.
    copy = tmp_path / "sources"
    shutil.copytree(DATA / "sources", copy)
    assert import_all(copy, tmp_path / "out")
