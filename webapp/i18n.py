"""Interface language: the interface strings, one gettext catalogue per language, and
the choice of language for a request.

Every interface string, the pages' and the query editor's, is a message of
``webapp/translations/<locale>/LC_MESSAGES/messages.po``, keyed by a short msgid
(``nav_degrees``; the editor's start with ``editor_``), with ``{name}`` placeholders.
The catalogues are read with Babel at first use; there is no compile step. Each folder
is a language, its code the folder's name with ``-`` for ``_`` (``zh_Hant`` is
``zh-Hant``), so a new language is a new file. A message missing from a catalogue (or
empty, or fuzzy) is shown in English. The Flask setting ``MEDEDKG_TRANSLATIONS`` names
another folder of catalogues to read instead.

The language comes from ``?lang=`` (which also sets the ``lang`` cookie, so the choice
follows the visitor from page to page), then the ``lang`` cookie, then the browser's
``Accept-Language``, else English. Templates get ``tr(key)``, ``ui_lang`` (the code),
``ui_tag`` (its BCP 47 tag, from the catalogue's ``Language`` header) and
``lang_url(code)`` (the current page in another language).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.messages.pofile import read_po
from flask import Flask, Response, current_app, has_app_context, request, url_for
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

#: The default language, and every other one's fallback: its catalogue has every key.
DEFAULT = "en"

#: The folder of catalogues: ``<locale>/LC_MESSAGES/messages.po`` in it.
TRANSLATIONS = Path(__file__).parent / "translations"

#: Flask setting naming another folder of catalogues (default :data:`TRANSLATIONS`).
SETTING = "MEDEDKG_TRANSLATIONS"

#: Cookie (shared with the query editor) that keeps the chosen language.
COOKIE = "lang"

#: Most characters of ``Accept-Language`` read. Browsers send a few dozen; every
#: label on a page asks for the language, so parsing all of a huge header each time
#: made one request cost seconds.
MAX_ACCEPT_LANGUAGE = 512

#: The message that names a language in itself (for the switch).
LANGUAGE_NAME = "language_name"

#: A folder name that can be a language: ``en``, ``zh``, ``zh_Hant``, ``pt_BR``.
_LOCALE_FOLDER = re.compile(r"[A-Za-z]{2,3}(?:_[A-Za-z0-9]{2,8})*")


@dataclass(frozen=True)
class Language:
    """One catalogue: an interface language."""

    code: str  #: as in ``?lang=`` and the cookie: ``zh-Hant``
    tag: str  #: BCP 47 tag of its text, for ``<html lang>``: ``zh-Hans``
    name: str  #: its name in itself
    strings: Mapping[str, str]  #: msgid → text, translated messages only
    answers: tuple[str, ...]  #: ``Accept-Language`` tags it serves, its code first


@dataclass(frozen=True)
class Catalogues:
    """Every language of one folder of catalogues, :data:`DEFAULT` first."""

    languages: Mapping[str, Language]

    @functools.cached_property
    def _codes(self) -> dict[str, str]:
        return {code.lower(): code for code in self.languages}

    def code_of(self, value: str | None) -> str | None:
        """The language whose code is *value* (any case, ``_`` or ``-``), if any."""
        return self._codes.get(value.replace("_", "-").lower()) if value else None

    def language(self, code: str | None) -> Language:
        """The language *code*, else the default one."""
        return self.languages.get(code or "") or self.languages[DEFAULT]


def catalogues(folder: Path | str | None = None) -> Catalogues:
    """The catalogues of *folder* (default: the app's :data:`SETTING`, else
    :data:`TRANSLATIONS`), read once."""
    return _read(str(folder or _folder()))


def languages() -> tuple[str, ...]:
    """The codes of the interface languages; the first is the default."""
    return tuple(catalogues().languages)


def _folder() -> str:
    configured = current_app.config.get(SETTING) if has_app_context() else None
    return str(configured or TRANSLATIONS)


@functools.lru_cache(maxsize=8)
def _read(folder: str) -> Catalogues:
    """Read every ``<locale>/LC_MESSAGES/messages.po`` of *folder*.

    Raises:
        FileNotFoundError: if there is no catalogue of :data:`DEFAULT`.
    """
    found: dict[str, Language] = {}
    for path in sorted(Path(folder).glob("*/LC_MESSAGES/messages.po")):
        name = path.parent.parent.name
        if not _LOCALE_FOLDER.fullmatch(name):
            continue
        with path.open("rb") as file:
            catalogue = read_po(file)
        strings = {
            str(message.id): message.string
            for message in catalogue
            if message.id
            and isinstance(message.id, str)
            and isinstance(message.string, str)
            and message.string
            and not message.fuzzy
        }
        code = name.replace("_", "-")
        locale = catalogue.locale or _locale(name)
        found[code] = Language(
            code=code,
            tag=str(locale).replace("_", "-") if locale else code,
            name=strings.get(LANGUAGE_NAME)
            or (locale.display_name if locale else None)
            or code,
            strings=strings,
            answers=_answers(code, locale),
        )
    if DEFAULT not in found:
        raise FileNotFoundError(
            f"no interface strings: {folder}/{DEFAULT}/LC_MESSAGES/messages.po"
        )
    default = found.pop(DEFAULT)
    return Catalogues({DEFAULT: default, **found})


def _locale(identifier: str) -> Locale | None:
    try:
        return Locale.parse(identifier)
    except (ValueError, UnknownLocaleError):
        return None


def _answers(code: str, locale: Locale | None) -> tuple[str, ...]:
    """The language tags a catalogue of *locale* serves: its code, and, when its script
    is known, the language with that script and with every region writing it.

    >>> _answers("zh", Locale.parse("zh_Hans"))
    ('zh', 'zh-Hans', 'zh-CN')
    >>> "zh-TW" in _answers("zh-Hant", Locale.parse("zh_Hant"))
    True
    """
    tags = [code]
    if locale is not None and locale.script:
        language, script = locale.language, locale.script
        tags.append(f"{language}-{script}")
        likely: Mapping[str, str] = get_global("likely_subtags")
        for key, value in likely.items():
            parts = value.split("_")
            if key.split("_")[0] == language and parts[:2] == [language, script]:
                tags.append(f"{language}-{parts[-1]}")
        if locale.territory:
            tags.append(f"{language}-{locale.territory}")
    return tuple(dict.fromkeys(tags))


def ui_language() -> str:
    """The interface language of the current request (one of :func:`languages`)."""
    known = catalogues()
    for candidate in (request.args.get("lang"), request.cookies.get(COOKIE)):
        code = known.code_of(candidate)
        if code:
            return code
    return browser_language(request.headers.get("Accept-Language", ""))


def browser_language(header: str) -> str:
    """The interface language an ``Accept-Language`` header prefers, read from its
    first :data:`MAX_ACCEPT_LANGUAGE` characters (whole items only).

    >>> browser_language("fr;q=0.9, zh-CN;q=0.8, en;q=0.1")
    'zh'
    >>> browser_language("x-padding;q=0.5, " * 10_000 + "zh")
    'en'
    """
    if len(header) > MAX_ACCEPT_LANGUAGE:
        header = header[:MAX_ACCEPT_LANGUAGE].rpartition(",")[0]
    return _language_of(header, _folder())


@functools.lru_cache(maxsize=256)
def _language_of(header: str, folder: str) -> str:
    known = catalogues(folder).languages
    owner = {tag: code for code, language in known.items() for tag in language.answers}
    accepted = parse_accept_header(header, LanguageAccept)
    best = accepted.best_match(list(owner))
    return owner[best] if best else DEFAULT


def tr(key: str, lang: str | None = None, **values: object) -> str:
    """The interface string *key* in *lang* (default: the request's language), in
    English where that language's catalogue lacks it.

    >>> tr("nav_degrees", "zh")
    '学位'
    >>> tr("rows_found", "en", n=3)
    '3 rows'

    Raises:
        KeyError: if *key* is not in the English catalogue.
    """
    known = catalogues()
    text = known.language(lang or ui_language()).strings.get(key)
    if text is None:
        text = known.languages[DEFAULT].strings[key]
    return text.format(**values) if values else text


def messages(prefix: str, lang: str | None = None) -> dict[str, str]:
    """Every interface string whose key starts with *prefix*, by the rest of its key,
    in *lang* (default: the request's language), placeholders left in.

    >>> messages("editor_", "en")["run"]
    'Run'
    """
    lang = lang or ui_language()
    keys = catalogues().languages[DEFAULT].strings
    return {k[len(prefix) :]: tr(k, lang) for k in keys if k.startswith(prefix)}


def lang_url(code: str) -> str:
    """The current page (same path and parameters) in the language *code*."""
    values: dict[str, Any] = dict(request.args.to_dict(flat=False))
    values.update(request.view_args or {})
    values["lang"] = code
    endpoint = request.endpoint
    if endpoint is None:
        return f"{request.path}?lang={code}"
    return url_for(endpoint, **values)


def init_app(app: Flask) -> None:
    """Give templates ``tr``, ``ui_lang``, ``ui_tag``, ``lang_url``; keep a chosen
    language in a cookie."""

    @app.context_processor
    def language_context() -> dict[str, Any]:
        known = catalogues()
        code = ui_language()
        return {
            "tr": tr,
            "ui_lang": code,
            "ui_tag": known.language(code).tag,
            "lang_url": lang_url,
            "language_names": {c: lang.name for c, lang in known.languages.items()},
            "languages": tuple(known.languages),
        }

    @app.after_request
    def remember_language(response: Response) -> Response:
        chosen = catalogues().code_of(request.args.get("lang"))
        if chosen:
            response.set_cookie(
                COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
            )
        if response.mimetype == "text/html":
            response.vary.add("Accept-Language")
            response.vary.add("Cookie")
        return response
