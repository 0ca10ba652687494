"""The exceptions MedEdKG raises: one base class, each subclass carrying its context.

Every message says what went wrong *and* what to do next, because the reader is a
researcher at a terminal or an HTTP client, not the author of the code.
"""

from __future__ import annotations

from pathlib import Path


class MedEdKGError(Exception):
    """Base class of every error MedEdKG raises on purpose."""

    #: CLI exit code for this kind of error (2 = usage or input error).
    exit_code = 2


class ConfigError(MedEdKGError):
    """A setting has a value that cannot be used."""


class LoadError(MedEdKGError):
    """An RDF source file cannot be read or parsed.

    Attributes:
        path: the file that failed.
        line: 1-based line of the error, when the parser reports one.
    """

    def __init__(self, path: Path, message: str, *, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


class StoreNotFound(MedEdKGError):
    """There is no built store at the configured location."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"no store at {path}: run `mededkg build` first "
            "(or set MEDEDKG_STORE_PATH to an existing store)"
        )


class QueryError(MedEdKGError):
    """A SPARQL query is malformed or not allowed; the message is the parser's."""


class QueryNotFound(MedEdKGError):
    """A named query does not exist in ``queries/``."""


class QueryTimeout(MedEdKGError):
    """A query ran longer than the configured time limit."""


class ParameterError(MedEdKGError):
    """A named query's parameter value cannot be bound as the declared RDF term."""


class ExportError(MedEdKGError):
    """An export cannot be produced (unknown graph, or a format that cannot hold it)."""
