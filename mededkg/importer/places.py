"""City points for the institutions of the MOE list that have no point of their own
(no ROR record, or one without coordinates): the point of the city the list locates
them in, as ROR's records give that city's GeoNames place. Nothing is typed by hand.

Rule (``mededkg:CityPointFromLocationRule``, documented in docs/data.md):

* the row's **location** (所在地, 郑州市) names one city of the place gazetteer
  (:mod:`mededkg.matching.gazetteer`) in the row's province (``provinces_of``);
* ROR records **located in that city** are those whose GeoNames place name is one of
  the city's Latin forms in the gazetteer, written as the place itself (``Xiamen``,
  not the prefecture ``Xiamen Shi``) and whose GeoNames division, where the record
  gives one, names the same province (泰州 "Taizhou" in Jiangsu, 台州 "Taizhou" in
  Zhejiang); a record without a division counts only if one city has that name;
* the city's **GeoNames place** is the one most of those records give (a tie: none);
  its coordinates are those most of its records give (a tie: the first record's, in
  ROR-id order), and the record they are taken from is the first of those.

An institution whose location names no city, or a city no ROR record is located in,
gets no point; :func:`city_points` reports why.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from rdflib import RDF, Graph, Literal, URIRef

from mededkg.importer.common import iri, source
from mededkg.importer.institutions import (
    MOE,
    ROR,
    add_evidence,
    evidence_iri,
    institution_iri,
    provinces_of,
    row_iri,
)
from mededkg.importer.ror import RorRecord
from mededkg.matching.gazetteer import Gazetteer, Place
from mededkg.matching.names import normalise
from mededkg.namespaces import DCTERMS, GEO, MEDEDKG, PROV

#: Reasons an institution gets no city point (the report's ``reason`` column).
NO_CITY = "location names no city of the gazetteer in the institution's province"
NO_RECORD = "no ROR record is located in the city"
TIED = (
    "the ROR records located in the city give different GeoNames places equally often"
)


@dataclass(frozen=True)
class CityPoint:
    """A city's point as ROR gives it.

    Attributes:
        place: the gazetteer's city.
        geonames_id: the GeoNames place ROR locates the records in.
        name: that place's name as ROR writes it (``Zhengzhou``).
        lat: latitude; lng: longitude (ROR's, for the GeoNames place).
        record: the ROR record (``https://ror.org/…``) the coordinates are taken from.
    """

    place: Place
    geonames_id: str
    name: str
    lat: float
    lng: float
    record: str


@dataclass(frozen=True)
class Placed:
    """What the rule found for the MOE rows without a point of their own.

    Attributes:
        points: MOE code → its city's point.
        missing: ``(moe_code, name_zh, location, reason)`` of rows left without one.
    """

    points: Mapping[str, CityPoint]
    missing: list[tuple[str, str, str, str]]


def _written_as(place: Place, name: str, gazetteer: Gazetteer) -> bool:
    """True if *name* (a GeoNames place name as ROR writes it) is one of *place*'s
    Latin forms, as the place itself (``Xiamen Shi``, the prefecture, is not)."""
    return normalise(name).replace(" ", "") in gazetteer.latin.get(place, ())


def _city_of(record: RorRecord, gazetteer: Gazetteer) -> Place | None:
    """The gazetteer city a record is located in: its GeoNames place, in the province
    its GeoNames division names (a record without a division: the one city of that
    name), or None."""
    cities = {
        p
        for p in gazetteer.places_in(record.city)
        if p.level == "city" and _written_as(p, record.city, gazetteer)
    }
    provinces = {p.province for p in gazetteer.places_in(record.subdivision)}
    if provinces:
        cities = {p for p in cities if p.province in provinces}
    return cities.pop() if len(cities) == 1 else None


def ror_cities(
    records: Mapping[str, RorRecord], gazetteer: Gazetteer
) -> tuple[dict[Place, CityPoint], set[Place]]:
    """Each gazetteer city's point as the ROR records located there give it, and the
    cities whose records tie between GeoNames places."""
    located: dict[Place, list[RorRecord]] = defaultdict(list)
    for ror_id in sorted(records):
        record = records[ror_id]
        if record.lat is None or record.lng is None or not record.geonames_id.isdigit():
            continue
        city = _city_of(record, gazetteer)
        if city is not None:
            located[city].append(record)
    points: dict[Place, CityPoint] = {}
    tied: set[Place] = set()
    for city, found in located.items():
        ranked = Counter(r.geonames_id for r in found).most_common(2)
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            tied.add(city)
            continue
        there = [r for r in found if r.geonames_id == ranked[0][0]]
        (lat, lng), _ = Counter((r.lat, r.lng) for r in there).most_common(1)[0]
        first = next(r for r in there if (r.lat, r.lng) == (lat, lng))
        assert first.lat is not None and first.lng is not None
        points[city] = CityPoint(
            city, first.geonames_id, first.city, first.lat, first.lng, first.ror_id
        )
    return points, tied


def city_points(
    rows: list[dict[str, str]],
    records: Mapping[str, RorRecord],
    gazetteer: Gazetteer,
    has_point: set[str],
) -> Placed:
    """The city point of every MOE row whose code is not in *has_point*."""
    points, tied = ror_cities(records, gazetteer)
    provinces = provinces_of(rows)
    found: dict[str, CityPoint] = {}
    missing: list[tuple[str, str, str, str]] = []
    for row in rows:
        code = row["moe_code"]
        if code in has_point:
            continue
        cities = {p for p in gazetteer.places_in(row["location"]) if p.level == "city"}
        if code in provinces:
            province = {
                p.zh
                for p in gazetteer.places_in(provinces[code].province)
                if p.level == "province"
            }
            cities = {p for p in cities if p.province in province}
        city = cities.pop() if len(cities) == 1 else None
        reason = (
            NO_CITY
            if city is None
            else TIED
            if city in tied
            else NO_RECORD
            if city not in points
            else ""
        )
        if city is not None and not reason:
            found[code] = points[city]
        else:
            missing.append((code, row["name_zh"], row["location"], reason))
    return Placed(found, missing)


def geometry_iri(moe_code: str) -> URIRef:
    """The city-level geometry of an institution of the MOE list."""
    return iri("geometry", "city-" + moe_code)


def points_graph(rows: list[dict[str, str]], placed: Placed) -> Graph:
    """The city points as GeoSPARQL geometries, each with its evidence: the MOE row
    (the location) and the ROR record (the coordinates), the GeoNames place as source.
    """
    graph = Graph()
    by_code = {r["moe_code"]: r for r in rows}
    for code, point in sorted(placed.points.items()):
        row = by_code[code]
        geometry = geometry_iri(code)
        graph.add((institution_iri(code), GEO.hasGeometry, geometry))
        graph.add((geometry, RDF.type, GEO.Geometry))
        wkt = f"POINT({point.lng} {point.lat})"
        graph.add((geometry, GEO.asWKT, Literal(wkt, datatype=GEO.wktLiteral)))
        graph.add((geometry, MEDEDKG.spatialLevel, MEDEDKG.CityLevel))
        feature = URIRef(f"https://sws.geonames.org/{point.geonames_id}/")
        graph.add((geometry, DCTERMS.source, feature))
        graph.add((geometry, PROV.wasDerivedFrom, URIRef(point.record)))
        evidence = evidence_iri(code, "city-point")
        graph.add((geometry, MEDEDKG.geometryEvidence, evidence))
        suffix = point.record.rsplit("/", 1)[-1]
        add_evidence(
            graph,
            evidence,
            MEDEDKG.CityPointFromLocationRule,
            [row_iri(row), URIRef(point.record), feature],
            f"no point of its own; the MOE list locates it in “{row['location']}”, "
            f"the city ROR record {suffix} is located in: GeoNames place "
            f"{point.geonames_id} “{point.name}” at {point.lat}, {point.lng}",
            [source(MOE), source(ROR)],
        )
    return graph
