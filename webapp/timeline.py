"""The discipline catalogue through time: the rows of the named query
``catalogue-timeline`` (each concept of each edition and the concept of the next edition
it continues as, ``skos:exactMatch``) turned into lineages — one line per concept
followed from edition to edition, each step saying what changed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyoxigraph as ox

#: What a cell says about its concept against the one before it on its line.
NEW = "new"  # no concept of an earlier edition continues as this one
FIRST = "first"  # in the earliest edition the graph holds: nothing to compare with
SAME = "same"  # same code and name as in the edition before
RENAMED = "renamed"  # same code, another name
RECODED = "recoded"  # same name, another code
CHANGED = "changed"  # another code and another name
SPLIT = "split"  # one of several concepts the concept before continues as

_LEVELS = {
    "DisciplineCategory": 0,
    "FirstLevelDiscipline": 1,
    "ProfessionalDegreeCategory": 1,
    "SecondLevelDiscipline": 2,
}


@dataclass
class Cell:
    """One concept on a lineage."""

    iri: str
    edition: str
    code: str
    name: str
    level: str
    change: str = NEW


@dataclass
class Lineage:
    """A concept followed through the editions: its cells by edition, and whether it
    ended (a later edition exists that does not continue it)."""

    cells: dict[str, Cell] = field(default_factory=dict)
    ended_in: str = ""

    @property
    def first(self) -> Cell:
        """The earliest cell."""
        return self.cells[min(self.cells)]


def lineages(
    rows: Iterable[Mapping[str, ox.NamedNode | ox.Literal | ox.BlankNode]],
) -> tuple[list[str], list[Lineage]]:
    """The editions (in order) and the lineages of the named query's *rows*, ordered
    by their first concept's level and code.

    >>> I = ox.NamedNode
    >>> def row(e, c, n, nxt=None):
    ...     r = {"editionCode": ox.Literal(e), "concept": I(f"http://x/{e}/{c}"),
    ...          "code": ox.Literal(c), "name": ox.Literal(n, language="zh"),
    ...          "level": I("http://x#FirstLevelDiscipline")}
    ...     return r | ({"next": I(nxt)} if nxt else {})
    >>> editions, lines = lineages([
    ...     row("1997", "1002", "临床医学", "http://x/2022/1002"),
    ...     row("2022", "1002", "临床医学"), row("2022", "1011", "护理学")])
    >>> editions
    ['1997', '2022']
    >>> [[(c.edition, c.code, c.change) for c in x.cells.values()] for x in lines]
    [[('1997', '1002', 'first'), ('2022', '1002', 'same')], [('2022', '1011', 'new')]]
    """
    cells: dict[str, Cell] = {}
    following: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        iri = row["concept"].value
        if iri not in cells:
            cells[iri] = Cell(
                iri,
                row["editionCode"].value,
                row["code"].value,
                row["name"].value if "name" in row else "",
                row["level"].value.rsplit("#", 1)[-1],
            )
        nxt = row.get("next")
        if nxt is not None and nxt.value not in following[iri]:
            following[iri].append(nxt.value)
    editions = sorted({c.edition for c in cells.values()})
    continued = {n for nexts in following.values() for n in nexts if n in cells}
    lines: list[Lineage] = []
    starts = [(iri, NEW) for iri in cells if iri not in continued]
    while starts:
        iri, change = starts.pop(0)
        line = Lineage()
        cell = cells[iri]
        cell.change = change
        while True:
            line.cells[cell.edition] = cell
            nexts = [n for n in following.get(cell.iri, []) if n in cells]
            if not nexts:
                later = [e for e in editions if e > cell.edition]
                line.ended_in = later[0] if later else ""
                break
            for other in nexts[
                1:
            ]:  # a split: each further concept is a line of its own
                starts.append((other, SPLIT))
            before, cell = cell, cells[nexts[0]]
            cell.change = _change(before, cell) if len(nexts) == 1 else SPLIT
        lines.append(line)
    for cell in cells.values():
        if cell.edition == editions[0] and cell.change == NEW:
            cell.change = FIRST
    lines.sort(key=lambda line: (line.first.code, _LEVELS.get(line.first.level, 9)))
    return editions, lines


def _change(before: Cell, after: Cell) -> str:
    if before.code == after.code:
        return SAME if before.name == after.name else RENAMED
    return RECODED if before.name == after.name else CHANGED
