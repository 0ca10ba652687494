"""The one table of settings: CLI flags, environment variables, Flask config and docs.

Each :class:`Setting` has a name, a default and a help text. :func:`load_config` reads
values from explicit overrides (CLI flags), then from an environment mapping passed in
by the caller (``MEDEDKG_<NAME>``), then the defaults; the core never reads
``os.environ`` itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mededkg.errors import ConfigError
from mededkg.namespaces import BASE_IRI
from mededkg.resources import default_root

ENV_PREFIX = "MEDEDKG_"


@dataclass(frozen=True)
class Setting:
    """One configurable value."""

    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = str
    choices: tuple[str, ...] = ()

    @property
    def env_var(self) -> str:
        """The environment variable that sets it, e.g. ``MEDEDKG_PORT``."""
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        """The CLI flag that sets it, e.g. ``--query-timeout``."""
        return "--" + self.name.replace("_", "-")


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise ValueError("must be 0 or more")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError("must be between 0 and 65535")
    return value


def _iri_list(text: str) -> tuple[str, ...]:
    return tuple(sorted({item.strip() for item in text.split(",") if item.strip()}))


def _http_url_or_empty(text: str) -> str:
    if text and not text.startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return text


def _bool(text: str) -> bool:
    """Parse a yes/no setting.

    >>> _bool("yes"), _bool("0")
    (True, False)
    """
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false")


def _base_iri(text: str) -> str:
    if not text.startswith(("http://", "https://")) or not text.endswith("/"):
        raise ValueError("must be an http(s) IRI ending with '/'")
    return text


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "root",
        "",
        "Project folder with ontology/, data/ and queries/ "
        "(default: the installed package's own copy).",
        Path,
    ),
    Setting(
        "store_path",
        "",
        "Directory of the embedded Oxigraph store (default: var/store in the project "
        "folder).",
        Path,
    ),
    Setting(
        "store_backend",
        "embedded",
        "Where the graph lives: embedded (Oxigraph on disk), memory (rdflib in this "
        "process, built on start; tests and tiny graphs) or remote (a SPARQL 1.1 "
        "Protocol + Graph Store Protocol server; see docs/backends.md).",
        str,
        ("embedded", "memory", "remote"),
    ),
    Setting(
        "remote_endpoint",
        "",
        "SPARQL query URL of the remote store, e.g. http://localhost:7878/query "
        "(store_backend remote).",
        _http_url_or_empty,
    ),
    Setting(
        "remote_update_endpoint",
        "",
        "SPARQL Update URL of the remote store (default: remote_endpoint with a "
        "final /query replaced by /update, else remote_endpoint itself).",
        _http_url_or_empty,
    ),
    Setting(
        "remote_graph_store",
        "",
        "Graph Store Protocol URL of the remote store (default: remote_endpoint with "
        "a final /query replaced by /store, else remote_endpoint itself).",
        _http_url_or_empty,
    ),
    Setting(
        "remote_union_default_graph",
        "false",
        "The remote server's default graph is already the union of its graphs "
        "(Oxigraph --union-default-graph, Virtuoso, QLever): send queries without "
        "the list of MedEdKG's graphs (joins several times faster; GRAPH ?g then "
        "also sees the server's other graphs).",
        _bool,
    ),
    Setting(
        "serve_in_memory",
        "false",
        "Serve a copy of the embedded store loaded into memory (faster joins; each "
        "query worker holds its own copy, so memory use is (query_workers + 1) times "
        "the store's size).",
        _bool,
    ),
    Setting(
        "base_iri",
        BASE_IRI,
        "Base IRI of the dataset's resources and graphs.",
        _base_iri,
    ),
    Setting("host", "127.0.0.1", "Interface the server listens on."),
    Setting("port", "8000", "Port the server listens on (0 = any free port).", _port),
    Setting("threads", "8", "Worker threads of the HTTP server.", _positive_int),
    Setting(
        "query_timeout",
        "30",
        "Time limit of one query, in seconds.",
        _positive_float,
    ),
    Setting(
        "result_limit",
        "10000",
        "Most rows (or triples) one query may return.",
        _positive_int,
    ),
    Setting(
        "query_workers",
        "4",
        "Worker processes that run queries (the hard time limit kills a worker); "
        "0 runs queries in the server process, without a hard limit.",
        _non_negative_int,
    ),
    Setting(
        "queue_timeout",
        "5",
        "Seconds a query may wait for a free worker before the server answers 503.",
        _positive_float,
    ),
    Setting(
        "update_token",
        "",
        "Bearer token that enables /update and /graph-store writes; empty = the "
        "endpoint is read-only.",
    ),
    Setting(
        "rate_limit",
        "50",
        "Requests per second one client IP may send to any path but /static/ "
        "(the endpoint, the API, writes, reconciliation and pages) before it gets "
        "429 (0 = no limit).",
        _non_negative_float,
    ),
    Setting(
        "rate_burst",
        "100",
        "Requests one client IP may send at once above the rate limit.",
        _positive_int,
    ),
    Setting(
        "worker_memory_mb",
        "4096",
        "Address-space cap of each query worker, in MB; a query that needs more "
        "is stopped with 503 (0 = no cap).",
        _non_negative_int,
    ),
    Setting(
        "reasoner",
        "fast",
        "OWL 2 RL engine of the build and of writes: fast (rules compiled from the "
        "ontology, the default) or owlrl (the reference; see docs/reasoning.md).",
        str,
        ("owlrl", "fast"),
    ),
    Setting(
        "dumps",
        "lazy",
        "Downloads of a build: lazy (each file made on its first download, then "
        "kept with its checksum; the default) or eager (every file written by the "
        "build).",
        str,
        ("lazy", "eager"),
    ),
    Setting(
        "validator",
        "rudof",
        "SHACL engine of the build and of writes: rudof (Rust, the default) or "
        "pyshacl (the reference; both give the same results, docs/pipeline.md).",
        str,
        ("rudof", "pyshacl"),
    ),
    Setting(
        "service_allowlist",
        "",
        "Comma-separated endpoint IRIs that SPARQL SERVICE may call; empty = none "
        "(query workers then have no network at all; see docs/security.md).",
        _iri_list,
    ),
    Setting(
        "client_queries",
        "1",
        "Queries one client IP may have running at once; one more is answered 429 "
        "at once (it holds no HTTP thread or query worker), so one client cannot "
        "hold every worker.",
        _positive_int,
    ),
    Setting(
        "response_limit_mb",
        "32",
        "Largest serialized query answer, in MB; a bigger one is refused with 400 "
        "naming this setting (ask for fewer rows or shorter values).",
        _positive_float,
    ),
    Setting(
        "query_max_kb",
        "64",
        "Largest SPARQL query or update text, in KB (400 beyond it, before parsing).",
        _positive_int,
    ),
    Setting(
        "query_max_depth",
        "64",
        "Deepest nesting of brackets ( [ { in a query or update (400 beyond it, "
        "before parsing: deep nesting overflows the parser's stack).",
        _positive_int,
    ),
    Setting(
        "request_body_mb",
        "1",
        "Largest request body, in MB; the HTTP server answers 413 from the headers, "
        "before reading the body.",
        _positive_float,
    ),
    Setting(
        "request_header_kb",
        "16",
        "Largest request header block, in KB (431/400 beyond it).",
        _positive_int,
    ),
    Setting(
        "connection_limit",
        "1000",
        "Most open HTTP connections; more wait in the listen backlog.",
        _positive_int,
    ),
    Setting(
        "channel_timeout",
        "20",
        "Seconds an HTTP connection may stay idle before the server closes it (a "
        "half-sent request counts as idle while no byte arrives).",
        _positive_int,
    ),
    Setting(
        "public_base_url",
        "",
        "The URL clients reach this server at, e.g. https://mededkg.example.org/ "
        "(absolute links in reconciliation and API answers); empty = "
        "http://HOST:PORT/ from the settings, never the request's Host header.",
        _http_url_or_empty,
    ),
    Setting(
        "trusted_proxies",
        "0",
        "How many reverse proxies in front of the server set X-Forwarded-For / "
        "-Proto / -Host; the client IP for rate limits and per-client caps is taken "
        "from them (0 = use the connection's address, ignore those headers).",
        _non_negative_int,
    ),
)

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    """Resolved settings, passed down explicitly to every component."""

    root: Path
    store_path: Path
    store_backend: str = "embedded"
    remote_endpoint: str = ""
    remote_update_endpoint: str = ""
    remote_graph_store: str = ""
    remote_union_default_graph: bool = False
    serve_in_memory: bool = False
    base_iri: str = BASE_IRI
    host: str = "127.0.0.1"
    port: int = 8000
    threads: int = 8
    query_timeout: float = 30.0
    result_limit: int = 10000
    query_workers: int = 4
    queue_timeout: float = 5.0
    update_token: str = ""
    rate_limit: float = 50.0
    rate_burst: int = 100
    worker_memory_mb: int = 4096
    service_allowlist: tuple[str, ...] = ()
    reasoner: str = "fast"
    validator: str = "rudof"
    dumps: str = "lazy"
    client_queries: int = 1
    response_limit_mb: float = 32.0
    query_max_kb: int = 64
    query_max_depth: int = 64
    request_body_mb: float = 1.0
    request_header_kb: int = 16
    connection_limit: int = 1000
    channel_timeout: int = 20
    public_base_url: str = ""
    trusted_proxies: int = 0

    def replace(self, **changes: Any) -> Config:
        """Return a copy with *changes* applied (validated like any other value)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values.update(changes)
        return Config(**values)


#: Settings of the HTTP server alone: flags of ``mededkg serve`` only (every command
#: still reads them from the environment).
SERVER_ONLY = frozenset(
    {
        "host",
        "port",
        "threads",
        "serve_in_memory",
        "queue_timeout",
        "update_token",
        "rate_limit",
        "rate_burst",
        "client_queries",
        "response_limit_mb",
        "request_body_mb",
        "request_header_kb",
        "connection_limit",
        "channel_timeout",
        "public_base_url",
        "trusted_proxies",
    }
)


def load_config(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Resolve every setting: overrides, then ``MEDEDKG_*`` variables, then defaults.

    Args:
        overrides: values already parsed or as text, e.g. from CLI flags; ``None``
            values are ignored.
        environ: an environment mapping (the CLI passes ``os.environ``).

    Raises:
        ConfigError: naming the setting, its source and the accepted values.

    >>> load_config({"port": "9000"}, {}).port
    9000
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    environ = environ or {}
    unknown = set(overrides) - set(SETTINGS_BY_NAME)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in overrides:
            raw, origin = overrides[setting.name], setting.flag
        elif setting.env_var in environ:
            raw, origin = environ[setting.env_var], setting.env_var
        else:
            raw, origin = setting.default, "default"
        values[setting.name] = _parse(setting, raw, origin)
    values["root"] = Path(values["root"] or default_root()).resolve()
    store_path = values["store_path"] or values["root"] / "var" / "store"
    values["store_path"] = Path(store_path).absolute()
    return Config(**values)


def _parse(setting: Setting, raw: Any, origin: str) -> Any:
    if not isinstance(raw, str):
        return raw
    if setting.choices and raw not in setting.choices:
        raise ConfigError(
            f"{setting.name} ({origin}) is {raw!r}; choose one of: "
            f"{', '.join(setting.choices)}"
        )
    if raw == "" and setting.parse is Path:
        return raw
    try:
        return setting.parse(raw)
    except ValueError as error:
        raise ConfigError(f"{setting.name} ({origin}) is {raw!r}: {error}") from error


def settings_markdown() -> str:
    """The settings table as Markdown, for ``docs/settings.md`` (``mededkg docs``).

    >>> "| `port` | `--port` | `MEDEDKG_PORT` | `8000` |" in settings_markdown()
    True
    """
    lines = [
        "# Settings",
        "",
        "Generated from `mededkg/settings.py` by `mededkg docs`; do not edit by hand.",
        "Every setting is an environment variable and a CLI flag (the HTTP",
        "server's settings, marked *serve*, are flags of `mededkg serve` only); a",
        "flag wins over the environment, which wins over the default.",
        "",
        "| setting | flag | environment | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "empty"
        meaning = s.help.replace("|", "\\|")
        if s.choices:
            meaning += " Choices: " + ", ".join(f"`{c}`" for c in s.choices) + "."
        flag = f"`{s.flag}`" + (" (*serve*)" if s.name in SERVER_ONLY else "")
        lines.append(f"| `{s.name}` | {flag} | `{s.env_var}` | {default} | {meaning} |")
    return "\n".join(lines) + "\n"
