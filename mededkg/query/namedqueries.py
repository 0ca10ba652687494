"""Named queries: the ``queries/*.rq`` files, their ``#+`` headers and typed parameters.

A parameter value is turned into an RDF term of the declared type and bound to the
query variable by substitution; it is never pasted into the query text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from mededkg.errors import ParameterError, QueryNotFound
from mededkg.query.gate import Term

XSD = "http://www.w3.org/2001/XMLSchema#"

#: Parameter types: name → XSD datatype (``iri`` and ``langstring`` are special).
PARAM_TYPES: dict[str, str] = {
    "iri": "",
    "string": XSD + "string",
    "langstring": "",
    "integer": XSD + "integer",
    "decimal": XSD + "decimal",
    "boolean": XSD + "boolean",
    "date": XSD + "date",
    "gYear": XSD + "gYear",
}

_HEADER = re.compile(r"^#\+\s*(\w+)\s*:\s*(.*)$")
_PARAM = re.compile(r"^\s*(\w+)\s*\(\s*(\w+)\s*\)\s*:?\s*(.*?)\s*$")
_LEXICAL = {
    "integer": re.compile(r"^[+-]?\d+$"),
    "decimal": re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$"),
    "boolean": re.compile(r"^(true|false|1|0)$"),
    "date": re.compile(r"^-?\d{4,}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$"),
    "gYear": re.compile(r"^-?\d{4,}(Z|[+-]\d{2}:\d{2})?$"),
}


@dataclass(frozen=True)
class Param:
    """One declared parameter of a named query."""

    name: str
    type: str
    description: str


@dataclass(frozen=True)
class NamedQuery:
    """A query file with its metadata."""

    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    text: str
    path: Path

    def bind(self, values: Mapping[str, str]) -> dict[str, Term]:
        """Turn raw parameter values into RDF terms for substitution.

        Empty values are left unbound; unknown names are refused.

        Raises:
            ParameterError: naming the parameter, its type and the bad value.
        """
        declared = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(declared))
        if unknown:
            known = ", ".join(declared) or "none"
            raise ParameterError(
                f"query {self.name!r} has no parameter(s) {', '.join(unknown)} "
                f"(parameters: {known})"
            )
        return {
            name: to_term(declared[name], raw)
            for name, raw in sorted(values.items())
            if raw != ""
        }


def to_term(param: Param, raw: str) -> Term:
    """Return the RDF term for *raw* as the type *param* declares.

    >>> to_term(Param("year", "gYear", ""), "1952")
    <Literal value=1952 datatype=<NamedNode value=http://www.w3.org/2001/XMLSchema#gYear>>

    Raises:
        ParameterError: if *raw* is not a valid value of that type.
    """
    kind = param.type
    if kind == "iri":
        try:
            return ox.NamedNode(raw)
        except ValueError as error:
            raise ParameterError(
                f"parameter {param.name!r} must be an absolute IRI, got {raw!r}"
            ) from error
    if kind == "langstring":
        text, _, lang = raw.rpartition("@")
        if not text or not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", lang):
            raise ParameterError(
                f"parameter {param.name!r} must look like text@lang, got {raw!r}"
            )
        return ox.Literal(text, language=lang)
    pattern = _LEXICAL.get(kind)
    if pattern is not None and not pattern.match(raw.strip()):
        raise ParameterError(
            f"parameter {param.name!r} must be an xsd:{kind}, got {raw!r}"
        )
    return ox.Literal(
        raw.strip() if pattern else raw, datatype=ox.NamedNode(PARAM_TYPES[kind])
    )


def parse_query_file(path: Path) -> NamedQuery:
    """Read a ``.rq`` file and its ``#+`` header.

    Raises:
        ParameterError: if the header is missing a title or declares a bad parameter.
    """
    text = path.read_text(encoding="utf-8")
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = _HEADER.match(line.strip())
        if match:
            fields.setdefault(match.group(1).lower(), []).append(match.group(2).strip())
    title = " ".join(fields.get("title", []))
    if not title:
        raise ParameterError(f"{path}: the query has no '#+ title:' line")
    params = []
    for spec in "; ".join(fields.get("params", [])).split(";"):
        if not spec.strip():
            continue
        match = _PARAM.match(spec)
        if not match or match.group(2) not in PARAM_TYPES:
            raise ParameterError(
                f"{path}: bad parameter declaration {spec.strip()!r}; write "
                f"'name (type): help' with type one of {', '.join(PARAM_TYPES)}"
            )
        params.append(Param(match.group(1), match.group(2), match.group(3)))
    return NamedQuery(
        name=path.stem,
        title=title,
        description=" ".join(fields.get("description", [])),
        params=tuple(params),
        text=text,
        path=path,
    )


def named_queries(folder: Path) -> dict[str, NamedQuery]:
    """Every named query in *folder*, by name, sorted."""
    if not folder.is_dir():
        return {}
    return {p.stem: parse_query_file(p) for p in sorted(folder.glob("*.rq"))}


def resolve_query(name_or_file: str, folder: Path) -> NamedQuery:
    """Find a named query by its stem in *folder*, or read any ``.rq`` file path
    (for the CLI and the Python API; HTTP uses :func:`named_query`).

    Raises:
        QueryNotFound: listing the available names.
    """
    candidate = Path(name_or_file)
    if candidate.suffix == ".rq" and candidate.is_file():
        return parse_query_file(candidate)
    return named_query(name_or_file, folder, also_files=True)


def named_query(name: str, folder: Path, *, also_files: bool = False) -> NamedQuery:
    """The named query *name*: only a stem of a ``.rq`` file directly in *folder*, so
    a name from a URL can never reach another file.

    Raises:
        QueryNotFound: listing the available names.
    """
    names = {p.stem: p for p in folder.glob("*.rq")} if folder.is_dir() else {}
    if name in names:
        return parse_query_file(names[name])
    available = ", ".join(sorted(names)) or "none"
    what = " and no such .rq file" if also_files else ""
    raise QueryNotFound(f"no query named {name!r}{what} (named queries: {available})")
