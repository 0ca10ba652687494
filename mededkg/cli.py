"""The ``mededkg`` command line: thin verbs over the pipeline functions.

Exit codes: 0 success · 1 the data does not conform to the shapes · 2 usage or input
error (bad file, bad query, missing store).

Why this module is over 600 lines: it is the whole command line in one place — ten
commands, whose 29 options and arguments are click decorators (about a third of the
lines) and whose help texts are the user's documentation. Each command's body only
reads its options and calls one core function (``build``, ``link.run``, ``export``…);
splitting the decorators from their commands would make each command harder to read.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from mededkg.errors import MedEdKGError, StoreNotFound
from mededkg.matching.link import ENTITY_CLASSES as ENTITY_KINDS
from mededkg.matching.link import TARGET_KINDS, Thresholds
from mededkg.namespaces import graph_iri, graph_name
from mededkg.pipeline import build as build_module
from mededkg.pipeline.export import (
    graphs_lost,
    select_quads,
    serialize_quads,
    write_atomically,
)
from mededkg.pipeline.load import Source
from mededkg.pipeline.stats import stats as compute_stats
from mededkg.pipeline.validate import ValidationFailed
from mededkg.query.formats import (
    RESULT_FORMATS,
    rdf_format,
    rdf_format_names,
    result_format,
)
from mededkg.query.gate import (
    AskResult,
    GraphResult,
    Limits,
    SelectResult,
    execute,
    limits_for,
)
from mededkg.query.namedqueries import resolve_query
from mededkg.query.results import serialize_graph, serialize_results
from mededkg.resources import queries_dir
from mededkg.settings import (
    SERVER_ONLY,
    SETTINGS,
    Config,
    Setting,
    load_config,
    settings_markdown,
)
from mededkg.storage import Store, backend_for, open_store

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES = (
    "Exit codes: 0 ok, 1 data does not conform to the shapes, 2 usage or input error."
)


def _settings_epilog() -> str:
    lines = ["Settings (flag / environment variable, default):", ""]
    for s in SETTINGS:
        default = s.default or "(see help)"
        lines.append(f"  {s.flag} / {s.env_var} [{default}]: {s.help}")
    return "\b\n" + "\n".join(lines) + "\n\n" + EXIT_CODES


#: Shorter spellings of some setting flags.
FLAG_ALIASES = {"store_backend": ("--store",), "remote_endpoint": ("--endpoint",)}


def settings_options(func: F) -> F:
    """Add one option per setting but the HTTP server's (:data:`SERVER_ONLY`: those
    are flags of ``serve`` only); the values arrive as ``config``."""
    return _with_settings(func, tuple(s for s in SETTINGS if s.name not in SERVER_ONLY))


def server_settings_options(func: F) -> F:
    """Add one option per setting, the HTTP server's included (``serve``)."""
    return _with_settings(func, SETTINGS)


def _with_settings(func: F, settings: Sequence[Setting]) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {s.name: kwargs.pop(s.name) for s in settings}
        return func(*args, config=_config(values), **kwargs)

    for setting in reversed(settings):
        wrapper = click.option(
            setting.flag,
            *FLAG_ALIASES.get(setting.name, ()),
            setting.name,
            default=None,
            help=f"{setting.help} [env {setting.env_var}]",
            show_envvar=False,
        )(wrapper)
    return wrapper  # type: ignore[return-value]


def _open_store(config: Config, *, quiet: bool = True) -> Store:
    """Open the configured back-end; the memory back-end is built first (it lives
    only as long as this process)."""
    try:
        return open_store(config)
    except StoreNotFound:
        if config.store_backend != "memory":
            raise
    build_module.build(config, reporter=CliReporter(Console(stderr=True), quiet=quiet))
    return open_store(config)


def _config(values: dict[str, Any]) -> Config:
    try:
        return load_config(values, os.environ)
    except MedEdKGError as error:
        raise click.UsageError(str(error)) from error


class CliReporter(build_module.Reporter):
    """Build progress on stderr: a bar while loading (terminal only), a line a step."""

    def __init__(self, console: Console, *, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self.progress: Progress | None = None
        self.task: Any = None

    def step_started(self, name: str) -> None:
        if self.quiet:
            return
        if name == "load" and self.console.is_terminal:
            self.progress = Progress(
                TextColumn("loading"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=self.console,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("", total=None)
        elif name != "load" and self.console.is_terminal:
            self.console.print(f"  {name} …", end="\r")

    def file_loaded(self, source: Source, triples: int, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress.update(
                self.task, total=total, completed=done, description=source.path.name
            )

    def step(self, step: build_module.Step) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        if not self.quiet:
            unit = {"validate": "results", "dumps": "files"}.get(step.name, "triples")
            detail = f"  ({step.detail})" if step.detail else ""
            self.console.print(
                f"  {step.name:<9} {step.triples:>9,} {unit:<8} {step.seconds:7.2f} s"
                + detail
            )


def _fail(error: MedEdKGError) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(error.exit_code)


def handle_errors(func: F) -> F:
    """Turn a :class:`MedEdKGError` into a message on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationFailed as error:
            click.echo(error.report.text(), err=True, nl=False)
            click.echo(
                "error: the build stopped; the previous store is unchanged", err=True
            )
            sys.exit(1)
        except MedEdKGError as error:
            _fail(error)

    return wrapper  # type: ignore[return-value]


@click.group(epilog=_settings_epilog())
@click.version_option(package_name="mededkg")
def main() -> None:
    """MedEdKG: build, validate, query, serve and export the medical-education graph."""


@main.command(epilog=EXIT_CODES)
@click.option(
    "--add",
    "add",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra RDF file or folder, loaded into its own named graph add/<stem>. "
    "Repeatable.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@settings_options
@handle_errors
def build(config: Config, add: tuple[Path, ...], quiet: bool) -> None:
    """Load, reason (OWL 2 RL), validate (SHACL) and write the store."""
    console = Console(stderr=True)
    reporter = CliReporter(console, quiet=quiet)
    start = time.perf_counter()
    result = build_module.build(config, add, reporter=reporter)
    if not quiet:
        total = time.perf_counter() - start
        where = backend_for(config).where
        console.print(f"  built {where} in {total:.2f} s: {result.report.summary()}")


@main.command(epilog=EXIT_CODES)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "turtle", "json"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--add",
    "add",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra RDF file or folder to validate with the project data.",
)
@settings_options
@handle_errors
def validate(config: Config, fmt: str, add: tuple[Path, ...]) -> None:
    """Validate the data against the SHACL shapes and print the report."""
    dataset = build_module.load_dataset(config, add)
    report = build_module.validate_dataset(
        dataset, config.base_iri, validator=config.validator
    )
    output = {"text": report.text, "turtle": report.to_turtle, "json": report.to_json}
    click.echo(output[fmt](), nl=fmt != "text")
    sys.exit(0 if report.conforms else 1)


@main.command(epilog=EXIT_CODES)
@click.argument("name_or_file")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(
        ["table", *[f.name for f in RESULT_FORMATS], *rdf_format_names()]
    ),
    default="table",
    show_default=True,
    help="A table, a SPARQL results format, or an RDF format for graph results.",
)
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A value for a declared parameter of the query. Repeatable.",
)
@settings_options
@handle_errors
def query(config: Config, name_or_file: str, fmt: str, params: tuple[str, ...]) -> None:
    """Run a named query from queries/ (by file stem) or any .rq file."""
    named = resolve_query(name_or_file, queries_dir(config.root))
    values = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"--param takes NAME=VALUE, got {item!r}")
        values[name] = value
    store = _open_store(config)
    result = execute(
        store, named.text, limits=_limits(config), substitutions=named.bind(values)
    )
    _print_result(result, fmt)


def _limits(config: Config) -> Limits:
    return limits_for(config, trusted=True)


def _print_result(result: SelectResult | AskResult | GraphResult, fmt: str) -> None:
    out = sys.stdout.buffer
    if isinstance(result, GraphResult):
        out.write(
            serialize_graph(result, rdf_format("turtle" if fmt == "table" else fmt))
        )
    elif fmt == "table":
        Console().print(_table(result))
    elif fmt in rdf_format_names():
        raise click.UsageError(f"--format {fmt} is for CONSTRUCT/DESCRIBE queries")
    else:
        out.write(serialize_results(result, result_format(fmt)))
    if getattr(result, "truncated", False):
        click.echo(
            "warning: the result was cut at the row limit (result_limit)", err=True
        )


def _table(result: SelectResult | AskResult) -> Table | str:
    if isinstance(result, AskResult):
        return "true" if result.value else "false"
    table = Table(*result.variables, caption=f"{len(result.rows)} row(s)")
    for row in result.rows:
        table.add_row(*("" if t is None else t.value for t in row))
    return table


@main.command(epilog=EXIT_CODES)
@click.option(
    "--graph",
    "graphs",
    multiple=True,
    metavar="NAME",
    help="A named graph (short name such as 'institutions', or its IRI). "
    "Repeatable; default: all graphs.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(rdf_format_names()),
    required=True,
    help="RDF format of the export.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="File to write (atomically); default: standard output.",
)
@settings_options
@handle_errors
def export(
    config: Config, graphs: tuple[str, ...], fmt: str, output: Path | None
) -> None:
    """Export graphs of the store as pretty, prefixed, deterministic RDF."""
    store = _open_store(config)
    iris = [g if "://" in g else str(graph_iri(config.base_iri, g)) for g in graphs]
    quads = select_quads(store, iris)
    rdf = rdf_format(fmt)
    merged = graphs_lost(quads, rdf)
    if merged:
        click.echo(
            f"note: {fmt} has no named graphs: the {merged} graphs are merged into "
            "one; use trig or nq to keep them apart",
            err=True,
        )
    data = serialize_quads(quads, rdf)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        write_atomically(output, data)
        click.echo(f"wrote {output} ({len(data):,} bytes)", err=True)


@main.command(epilog=EXIT_CODES)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@settings_options
@handle_errors
def stats(config: Config, fmt: str) -> None:
    """Show triples per named graph and instances per class."""
    result = compute_stats(_open_store(config))
    if fmt == "json":
        import json
        from dataclasses import asdict

        click.echo(json.dumps(asdict(result), ensure_ascii=False, indent=2))
        return
    console = Console()
    graphs = Table(
        "graph",
        "triples",
        "source",
        "licence",
        caption=f"{result.triples:,} triples in all",
    )
    for g in result.graphs:
        graphs.add_row(
            graph_name(config.base_iri, g.iri),
            f"{g.triples:,}",
            ", ".join(sorted(s.rsplit("/", 1)[-1] for s in g.source.split())),
            ", ".join(sorted(s.rsplit("/", 1)[-1] for s in g.license.split())),
        )
    console.print(graphs)
    classes = Table("class", "label", "instances")
    for c in result.classes:
        classes.add_row(c.iri, c.label_en or c.label_zh, f"{c.instances:,}")
    console.print(classes)


@main.group("import", epilog=EXIT_CODES, invoke_without_command=True)
@click.option(
    "--sources",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of source files (default: data/sources in the project).",
)
@settings_options
@handle_errors
@click.pass_context
def import_(ctx: click.Context, config: Config, sources: Path | None) -> None:
    """Regenerate data/*.ttl, data/links and data/reports from data/sources."""
    if ctx.invoked_subcommand is not None:
        return
    from mededkg.importer import import_all

    data = config.root / "data"
    for path in import_all(sources or data / "sources", data):
        click.echo(f"wrote {path}", err=True)


@import_.command("programmes", epilog=EXIT_CODES)
@click.argument(
    "csv_file", type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Turtle file to write; load it with `build --add` or put it in data/.",
)
@handle_errors
def import_programmes_command(csv_file: Path, output: Path) -> None:
    """Turn a programme CSV (see data/templates/programmes.csv) into Turtle."""
    from mededkg.importer import import_programmes

    click.echo(f"wrote {import_programmes(csv_file, output)}", err=True)


@main.command(epilog=EXIT_CODES)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="HTML file to write (default: docs/ontology.html in the project).",
)
@settings_options
@handle_errors
def docs(config: Config, output: Path | None) -> None:
    """Generate the ontology documentation page (from ontology/ and its shapes) and
    docs/settings.md (from the settings table)."""
    from mededkg.pipeline.ontodoc import from_files, render_html

    target = output or config.root / "docs" / "ontology.html"
    write_atomically(target, render_html(from_files(config.root)).encode())
    click.echo(f"wrote {target}", err=True)
    settings_doc = config.root / "docs" / "settings.md"
    write_atomically(settings_doc, settings_markdown().encode())
    click.echo(f"wrote {settings_doc}", err=True)


@main.command(epilog=EXIT_CODES)
@click.option("--quiet", "-q", is_flag=True, help="No build progress output.")
@server_settings_options
@handle_errors
def serve(config: Config, quiet: bool) -> None:
    """Serve the SPARQL endpoint and pages with waitress (builds first if needed)."""
    from webapp import create_app
    from webapp.context import app_state
    from webapp.server import make_server

    try:
        store = open_store(config, serving=True)
    except StoreNotFound as error:
        click.echo(f"{error}: building it first", err=True)
        build_module.build(
            config, reporter=CliReporter(Console(stderr=True), quiet=quiet)
        )
        store = open_store(config, serving=True)
    app = create_app(config, store=store)
    server = make_server(app, config)
    # waitress warns "Task queue depth is N" on every request that waits for a
    # thread: under load that is a line per request (and a full stderr pipe blocks
    # the server). Queueing is normal here; the endpoint's 503 is the signal.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    port = getattr(server, "effective_port", config.port)
    click.echo(app_state(app).egress(), err=True)
    click.echo(
        f"serving MedEdKG on http://{config.host}:{port}/ (SPARQL endpoint: /sparql)",
        err=True,
    )
    if not config.public_base_url and config.host in ("0.0.0.0", "::"):
        click.echo(
            f"note: absolute links (reconciliation, service description) name "
            f"http://{config.host}:{port}/; set --public-base-url to the address "
            "clients use",
            err=True,
        )
    server.run()


@main.command(epilog=EXIT_CODES)
@click.option(
    "--target",
    "targets",
    required=True,
    multiple=True,
    metavar="FILE_OR_ENDPOINT",
    help="The external dataset: a ROR dump (JSON), a Hipo list (JSON), a CSV/TSV, "
    "an RDF file, or a SPARQL endpoint URL. Repeatable: files of one kind that "
    "together make the dataset (e.g. a ROR extract in two files).",
)
@click.option(
    "--entities",
    type=click.Choice(sorted(ENTITY_KINDS)),
    required=True,
    help="Which resources of the graph to link.",
)
@click.option(
    "--kind",
    type=click.Choice(["auto", *TARGET_KINDS]),
    default="auto",
    show_default=True,
    help="Reader for the target (auto: by suffix and content).",
)
@click.option(
    "--target-name",
    default=None,
    help="Short name of the target in file names (default: ror, hipo, or the "
    "file stem / endpoint host).",
)
@click.option("--id-column", default="id", show_default=True, help="CSV/TSV: id.")
@click.option(
    "--name-column",
    "name_columns",
    multiple=True,
    help="CSV/TSV: a column with names. Repeatable. [default: name]",
)
@click.option(
    "--id-prefix",
    default="",
    help="CSV/TSV: namespace prepended to ids that are not IRIs.",
)
@click.option(
    "--sparql-query",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="SPARQL endpoint: a query binding ?item and ?name (optional ?url, "
    "?acronym, ?place) instead of the default label query.",
)
@click.option(
    "--accept",
    type=click.FloatRange(0, 1),
    default=Thresholds().accept,
    show_default=True,
    help="Score from which a link is accepted.",
)
@click.option(
    "--review",
    "review_from",
    type=click.FloatRange(0, 1),
    default=Thresholds().review,
    show_default=True,
    help="Score from which an unaccepted candidate is listed for review.",
)
@click.option(
    "--date",
    default=None,
    metavar="YYYY-MM-DD",
    help="mapping_date of the links (default: kept from the existing file when the "
    "links are unchanged, else today).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace the tool's own rows when they change (curated rows are kept).",
)
@click.option(
    "--translate",
    is_flag=True,
    help="Weigh how well an entity's Chinese name translates a record's English "
    "name, with a word table learned from the graph's names in both scripts "
    "(for targets that name Chinese institutions in Latin letters only).",
)
@settings_options
@handle_errors
def link(
    config: Config,
    targets: tuple[str, ...],
    entities: str,
    kind: str,
    target_name: str | None,
    id_column: str,
    name_columns: tuple[str, ...],
    id_prefix: str,
    sparql_query: Path | None,
    accept: float,
    review_from: float,
    date: str | None,
    force: bool,
    translate: bool,
) -> None:
    """Find links from the graph's entities to an external dataset (SSSOM output).

    Writes data/links/<entities>-<target>.sssom.tsv (loaded into the links graph at
    the next build) and data/links/review/<entities>-<target>.review.tsv (never
    loaded). Re-running with the same inputs gives the same bytes.
    """
    from mededkg.matching import link as linking

    if date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise click.UsageError(f"--date takes YYYY-MM-DD, got {date!r}")
    done = linking.run(
        build_module.load_dataset(config),
        targets,
        links_dir=config.root / "data" / "links",
        entities=entities,
        kind=kind,
        target_name=target_name,
        id_column=id_column,
        name_columns=name_columns or ("name",),
        id_prefix=id_prefix,
        sparql_query=(
            sparql_query.read_text(encoding="utf-8")
            if sparql_query
            else linking.DEFAULT_SPARQL
        ),
        thresholds=linking.Thresholds(accept=accept, review=review_from),
        date=date,
        force=force,
        translate=translate,
    )
    report, result = done.written, done.result
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(
        f"{done.entities} {entities}, {done.records:,} target records: "
        f"{report.accepted} links accepted, {report.review_items} to review, "
        f"{len(result.unlinked)} without candidate; {report.curated_kept} curated "
        f"rows kept",
        err=True,
    )
    verb = "wrote" if report.changed else "unchanged"
    click.echo(f"{verb} {report.sssom}", err=True)
    click.echo(f"wrote {report.review}", err=True)
