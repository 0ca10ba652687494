"""ROR records of the China extract (``data/sources/ror-china``), read from the two JSON
files (schema v2, and records seen only in schema v1), with their names cleaned.

Rules (documented in docs/data.md, tested with the records that motivated them):

* **Several names in one value** are split: a name holding ``;`` or ``；`` is several
  names (ROR 000jtc944's Chinese label is ``河南财经学院;``).
* **Label noise** is removed: a copyright notice ``版权所有`` is not part of a name
  (ROR 050agvb10's Chinese label is ``版权所有 运城市中心医院``). The raw value is kept
  with the record (:attr:`Name.raw`) so the graph can say what was cleaned.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The two files of the extract, in this order (a v1-only id never repeats a v2 id).
FILES = ("ror_cn_records_schema_v2.json", "ror_cn_records_schema_v1_only.json")
ROR_ID = re.compile(r"^https://ror\.org/(0[a-hj-km-np-tv-z0-9]{6}[0-9]{2})$")
#: Text that is not part of a name: a copyright notice pasted into a label.
NOISE = re.compile(r"版权所有")
SEPARATORS = re.compile(r"[;；]")
CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Name:
    """One name of a record: cleaned text, language (``""`` if the record gives none),
    kind (``display``, ``label``, ``alias`` or ``acronym``) and the raw source value."""

    value: str
    lang: str
    kind: str
    raw: str

    @property
    def cleaned(self) -> bool:
        """True if the cleaning rules changed the raw value (beyond outer spaces)."""
        return self.value != self.raw.strip()

    @property
    def chinese(self) -> bool:
        """True for a name in Chinese characters (by its script)."""
        return bool(CJK.search(self.value))


@dataclass(frozen=True)
class Relationship:
    """A relationship of a ROR record: ``parent``, ``child``, ``related``, …"""

    type: str
    target: str
    label: str


@dataclass(frozen=True)
class RorRecord:
    """The facts of one ROR record the importer uses."""

    ror_id: str
    status: str
    types: tuple[str, ...]
    names: tuple[Name, ...]
    relationships: tuple[Relationship, ...]
    wikidata: str = ""
    established: str = ""
    city: str = ""
    subdivision: str = ""
    website: str = ""
    #: The GeoNames place of the record's location (its city) and that place's
    #: coordinates, as ROR gives them: a city's point, not the campus.
    geonames_id: str = ""
    lat: float | None = None
    lng: float | None = None

    @property
    def suffix(self) -> str:
        """The id without ``https://ror.org/``.

        >>> RorRecord("https://ror.org/011ashp19", "active", (), (), ()).suffix
        '011ashp19'
        """
        match = ROR_ID.match(self.ror_id)
        if not match:
            raise ValueError(f"not a ROR id: {self.ror_id}")
        return match.group(1)

    @property
    def active(self) -> bool:
        """True unless ROR has withdrawn the record or marked it inactive."""
        return self.status == "active"

    @property
    def display(self) -> str:
        """ROR's display name (English for Chinese records)."""
        for name in self.names:
            if name.kind == "display":
                return name.value
        return ""

    def chinese_names(self) -> list[str]:
        """Every name in Chinese characters, labels first, then aliases; no repeats."""
        order = {"label": 0, "display": 0, "alias": 1, "acronym": 2}
        found = sorted(
            (n for n in self.names if n.chinese and n.kind != "acronym"),
            key=lambda n: order[n.kind],
        )
        return _unique(n.value for n in found)

    def chinese_labels(self) -> list[str]:
        """The Chinese labels (``zh``), in the record's order."""
        return _unique(
            n.value for n in self.names if n.lang == "zh" and n.kind == "label"
        )

    def english_names(self) -> list[str]:
        """The display name, English labels and Latin-script aliases, deduplicated."""
        return _unique(
            n.value
            for n in self.names
            if n.kind in ("display", "label", "alias")
            and not n.chinese
            and n.lang in ("", "en")
        )

    def has_type(self, kind: str) -> bool:
        """True if ROR types the record *kind* (``healthcare``, ``education`` …)."""
        return kind in self.types


def clean_names(raw: str) -> list[str]:
    """The names a raw ROR value holds: split at ``;``/``；``, noise removed.

    >>> clean_names("河南财经学院;")
    ['河南财经学院']
    >>> clean_names("版权所有 运城市中心医院")
    ['运城市中心医院']
    >>> clean_names("中国平安;平安金融")
    ['中国平安', '平安金融']
    """
    names = []
    for part in SEPARATORS.split(raw):
        text = " ".join(NOISE.sub(" ", part).split())
        if text:
            names.append(text)
    return names


def read_records(folder: Path) -> dict[str, RorRecord]:
    """Every record of the extract by ROR id (``https://ror.org/…``).

    Raises:
        ValueError: a record without a valid ROR id.
    """
    records: dict[str, RorRecord] = {}
    for name in FILES:
        with (folder / name).open(encoding="utf-8") as handle:
            items: list[dict[str, Any]] = json.load(handle)
        for item in items:
            record = _v2(item) if "names" in item else _v1(item)
            record.suffix  # noqa: B018 - validates the id
            records.setdefault(record.ror_id, record)
    return records


def _names(entries: list[tuple[str, str, str]]) -> tuple[Name, ...]:
    """``(raw, lang, kind)`` entries as cleaned names, one per name a value holds."""
    out: list[Name] = []
    seen: set[tuple[str, str]] = set()
    for raw, lang, kind in entries:
        for value in clean_names(unicodedata.normalize("NFC", raw)):
            if (value, kind) not in seen:
                seen.add((value, kind))
                out.append(Name(value, lang, kind, raw))
    return tuple(out)


def _v2(item: dict[str, Any]) -> RorRecord:
    entries: list[tuple[str, str, str]] = []
    for entry in item.get("names") or []:
        types = entry.get("types") or []
        lang = entry.get("lang") or ""
        for kind, marker in (
            ("display", "ror_display"),
            ("label", "label"),
            ("alias", "alias"),
            ("acronym", "acronym"),
        ):
            if marker in types:
                entries.append((entry.get("value") or "", lang, kind))
    wikidata = ""
    for ext in item.get("external_ids") or []:
        if ext.get("type") == "wikidata":
            wikidata = ext.get("preferred") or (ext.get("all") or [""])[0]
    first_location = (item.get("locations") or [{}])[0]
    details = first_location.get("geonames_details") or {}
    website = next(
        (
            x.get("value", "")
            for x in item.get("links") or []
            if x.get("type") == "website"
        ),
        "",
    )
    return RorRecord(
        ror_id=item["id"],
        status=item.get("status") or "",
        types=tuple(t.lower() for t in item.get("types") or []),
        names=_names(entries),
        relationships=_relationships(item),
        wikidata=wikidata,
        established=str(item.get("established") or ""),
        city=details.get("name") or "",
        subdivision=details.get("country_subdivision_name") or "",
        website=website,
        geonames_id=str(first_location.get("geonames_id") or ""),
        lat=_coordinate(details.get("lat")),
        lng=_coordinate(details.get("lng")),
    )


def _v1(item: dict[str, Any]) -> RorRecord:
    entries = [(item.get("name") or "", "en", "display")]
    entries += [
        (x.get("label") or "", x.get("iso639") or "", "label")
        for x in item.get("labels") or []
    ]
    entries += [(a, "", "alias") for a in item.get("aliases") or []]
    entries += [(a, "", "acronym") for a in item.get("acronyms") or []]
    wikidata_ids = (item.get("external_ids") or {}).get("Wikidata") or {}
    preferred = wikidata_ids.get("preferred")
    every = wikidata_ids.get("all") or []
    every = [every] if isinstance(every, str) else every
    address = (item.get("addresses") or [{}])[0]
    admin1 = (address.get("geonames_city") or {}).get("geonames_admin1") or {}
    return RorRecord(
        ror_id=item["id"],
        status=item.get("status") or "",
        types=tuple(t.lower() for t in item.get("types") or []),
        names=_names(entries),
        relationships=_relationships(item),
        wikidata=preferred or (every[0] if every else ""),
        established=str(item.get("established") or ""),
        city=address.get("city") or "",
        subdivision=admin1.get("name") or "",
        website=(item.get("links") or [""])[0],
        geonames_id=str((address.get("geonames_city") or {}).get("id") or ""),
        lat=_coordinate(address.get("lat")),
        lng=_coordinate(address.get("lng")),
    )


def _coordinate(value: Any) -> float | None:
    """A latitude or longitude as ROR gives it (a number), or None."""
    return float(value) if isinstance(value, int | float) else None


def _relationships(item: dict[str, Any]) -> tuple[Relationship, ...]:
    return tuple(
        Relationship(
            (x.get("type") or "").lower(), x.get("id") or "", x.get("label") or ""
        )
        for x in item.get("relationships") or []
    )


def _unique(values: Any) -> list[str]:
    seen: set[str] = set()
    out = []
    for value in values:
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out
