"""Interface language: every string in both languages, and the switch."""

from __future__ import annotations

import re

import requests
from flask.testing import FlaskClient

from webapp.i18n import LANGUAGES, STRINGS


def test_every_string_has_every_language() -> None:
    missing = [
        (key, lang)
        for key, texts in STRINGS.items()
        for lang in LANGUAGES
        if not texts.get(lang)
    ]
    assert missing == []
    extra = [key for key, texts in STRINGS.items() if set(texts) - set(LANGUAGES)]
    assert extra == []


def test_placeholders_agree_between_languages() -> None:
    for key, texts in STRINGS.items():
        fields = {
            lang: set(re.findall(r"{(\w+)}", text)) for lang, text in texts.items()
        }
        assert len({frozenset(f) for f in fields.values()}) == 1, key


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
