"""Interface language: the catalogues (complete, placeholders alike), a language
added as a file, and the switch."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
import requests
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from webapp.i18n import DEFAULT, SETTING, TRANSLATIONS, catalogues


def _fields(text: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", text))


def test_english_and_chinese_catalogues_are_complete() -> None:
    languages = catalogues(TRANSLATIONS).languages
    assert list(languages)[:2] == ["en", "zh"]
    english, chinese = languages["en"].strings, languages["zh"].strings
    # Every message translated (not missing, empty or fuzzy) in both.
    assert sorted(set(english) - set(chinese)) == []
    assert sorted(set(chinese) - set(english)) == []
    for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        with path.open("rb") as file:
            catalogue = read_po(file)
        assert [m.id for m in catalogue if m.id and m.fuzzy] == [], path
        assert catalogue.locale is not None, path  # its Language header


def test_no_catalogue_has_a_key_english_lacks() -> None:
    languages = catalogues(TRANSLATIONS).languages
    english = set(languages[DEFAULT].strings)
    for code, language in languages.items():
        assert sorted(set(language.strings) - english) == [], code


def test_placeholders_agree_between_languages() -> None:
    languages = catalogues(TRANSLATIONS).languages
    english = languages[DEFAULT].strings
    for code, language in languages.items():
        for key, text in language.strings.items():
            assert _fields(text) == _fields(english[key]), (code, key)


def test_the_query_editor_reads_the_same_catalogues(client: FlaskClient) -> None:
    page = client.get("/query?lang=zh").get_data(as_text=True)
    assert "<h1>SPARQL 查询编辑器</h1>" in page
    found = re.search(r'data-strings="([^"]*)"', page)
    assert found is not None
    strings = json.loads(html.unescape(found.group(1)))
    chinese = catalogues(TRANSLATIONS).languages["zh"].strings
    assert strings["run"] == chinese["editor_run"] == "运行"
    assert strings["line_column"] == "第 {line} 行第 {column} 列"
    assert strings.keys() == {
        key.removeprefix("editor_") for key in chinese if key.startswith("editor_")
    }


#: A third language, as a translator would add it: one file, some messages missing
#: (and one fuzzy), which show in English.
TRADITIONAL = """\
msgid ""
msgstr ""
"Language: zh_Hant\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "language_name"
msgstr "繁體中文"

msgid "degrees_title"
msgstr "學位類型"

msgid "rows_found"
msgstr "共 {n} 筆"

msgid "editor_run"
msgstr "執行"

#, fuzzy
msgid "nav_query"
msgstr "查詢"
"""


@pytest.fixture
def traditional(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app serving a copy of the catalogues plus ``zh_Hant``."""
    folder = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, folder)
    po = folder / "zh_Hant" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text(TRADITIONAL, encoding="utf-8")
    monkeypatch.setitem(app.config, SETTING, str(folder))
    return folder


def test_a_third_language_is_a_file(app: Flask, traditional: Path) -> None:
    client = app.test_client()
    response = client.get("/degrees?lang=zh-Hant")
    assert "lang=zh-Hant" in response.headers["Set-Cookie"]
    page = response.get_data(as_text=True)
    assert '<html lang="zh-Hant">' in page and "<h1>學位類型</h1>" in page
    # Missing and fuzzy messages are in English.
    assert ">Institutions<" in page and ">Query<" in page
    # The switch offers it, by its own name; the cookie keeps it.
    assert 'hreflang="zh-Hant"' in page and ">繁體中文<" in page
    again = client.get("/query").get_data(as_text=True)
    assert "執行" in again and "SPARQL query editor" in again
    # Accept-Language: Taiwan's Chinese is this one, China's the simplified one.
    for header, title in (("zh-TW,en;q=0.5", "學位類型"), ("zh-CN", "学位类型")):
        page = (
            app.test_client()
            .get("/degrees", headers={"Accept-Language": header})
            .get_data(as_text=True)
        )
        assert f"<h1>{title}</h1>" in page, header


def test_the_shipped_languages_are_unchanged_by_a_third(
    app: Flask, traditional: Path
) -> None:
    page = app.test_client().get("/degrees?lang=zh").get_data(as_text=True)
    assert '<html lang="zh-Hans">' in page and "<h1>学位类型</h1>" in page
    english = app.test_client().get("/degrees").get_data(as_text=True)
    assert '<html lang="en">' in english and "<h1>Degree types</h1>" in english


def test_switch_changes_interface_strings_and_sticks(client: FlaskClient) -> None:
    english = client.get("/").get_data(as_text=True)
    assert ">Institutions<" in english and ">Named graphs<" in english
    chinese = client.get("/?lang=zh")
    assert "lang=zh" in chinese.headers["Set-Cookie"]
    page = chinese.get_data(as_text=True)
    assert ">院校<" in page and ">命名图<" in page and '<html lang="zh-Hans">' in page
    # The cookie keeps the choice on the next page.
    assert ">学位类型<" in client.get("/degrees").get_data(as_text=True)
    assert ">Degree types<" in client.get("/degrees?lang=en").get_data(as_text=True)


def test_accept_language_picks_the_default(client: FlaskClient) -> None:
    page = client.get(
        "/institutions", headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    ).get_data(as_text=True)
    assert "<h1>院校</h1>" in page


def test_switch_links_keep_the_page_and_its_parameters(client: FlaskClient) -> None:
    page = client.get("/institutions?q=capital&lang=en").get_data(as_text=True)
    switch = re.search(r'<nav class="lang-switch".*?</nav>', page, re.S)
    assert switch is not None
    links = re.findall(r'href="([^"]+)"', switch.group(0))
    assert any(
        link.startswith("/institutions?") and "q=capital" in link and "lang=zh" in link
        for link in links
    )


def test_only_a_bounded_prefix_of_accept_language_is_read(live_url: str) -> None:
    # Thousands of items under the server's header cap: the language is chosen from
    # the first 512 characters (MAX_ACCEPT_LANGUAGE), so a "zh" after them is unseen.
    padding = "x-pad;q=0.5, " * 1000
    assert len(padding) > 10_000
    for path in ("/degrees", "/id/organization/ror-example"):
        response = requests.get(
            live_url + path,
            headers={"Accept-Language": padding + "zh"},
            timeout=30,
        )
        assert response.status_code == 200, path
        assert '<html lang="en">' in response.text, path
    near = requests.get(
        live_url + "/degrees",
        headers={"Accept-Language": "x-pad;q=0.5, zh, " + padding},
        timeout=30,
    )
    assert '<html lang="zh-Hans">' in near.text
