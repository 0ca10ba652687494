"""Independent parsers and clients: Apache Jena and Raptor read what we publish.

Dumps: every dump of the real graph (the whole dataset and each named graph in every
RDF format, :mod:`mededkg.pipeline.dumps`; ``mededkg export`` writes the same bytes
through the same serializer) is read by

- Jena RIOT (``riotcmd.riot --check --strict``: syntax, IRIs, language tags, literals
  against their datatypes; any warning fails), all files in one JVM: each file holds
  the number of statements the dumps index gives, and the whole-dataset files hold our
  statements exactly (blank nodes compare equal to each other; their labels differ);
- Raptor's ``rapper`` (Debian ``raptor2-utils``) in the formats it reads — Turtle,
  TriG, N-Triples, N-Quads, RDF/XML; it has no JSON-LD parser — with the same counts.

Results: every competency query answered by the real app over HTTP in SPARQL JSON,
XML, CSV and TSV is read by Jena's result-set readers (``ResultSetMgr``, through
``tests/java/ReadResults.java``, all files in one JVM), which must give SPARQLWrapper's
rows: the same terms from JSON, XML and TSV; from CSV, which carries no term types and
no unbound (Jena reads an empty field as an empty string), the same values.

Order: the result-set tests start riot's JVM first, so that it reads the dumps on one
core while the HTTP requests, the result-set JVM and rapper use the other; the riot
tests come last (the module: about 55 s of CPU, the session's build aside).

Debian packages: ``libapache-jena-java`` (no ``riot`` script: its command classes run
with ``java -cp``), a Java runtime (``default-jre-headless``) and ``raptor2-utils``;
``make test`` installs them. Two faults of Debian 12's Jena 4.5.0 are worked around
here: see :func:`xerces_messages` and :data:`JSONLD10_SUFFIX`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from SPARQLWrapper import JSON, SPARQLWrapper

from mededkg.pipeline.dumps import DATASET_STEM, Dump, dumps_folder, make_all
from mededkg.query.formats import RDF_FORMATS, RESULT_FORMATS
from mededkg.query.namedqueries import NamedQuery
from mededkg.settings import Config
from mededkg.storage import EmbeddedStore
from tests.test_clients import COMPETENCY_QUERIES, Row, canonical

JAVA_DIR = Path("/usr/share/java")
#: The jars Jena's commands need, named one by one: ``/usr/share/java/*`` also holds
#: other packages' logging bindings, which stop Jena at start (SLF4J loop detection).
JENA_JARS = (
    "jena-cmds",
    "jena-arq",
    "jena-core",
    "jena-base",
    "jena-iri",
    "commons-cli",
    "commons-codec",
    "commons-compress",
    "commons-csv",
    "commons-io",
    "commons-lang3",
    "commons-logging",
    "dexx.collection",
    "gson",
    "guava",
    "httpclient",
    "httpclient-cache",
    "httpcore",
    "jackson-annotations",
    "jackson-core",
    "jackson-databind",
    "jakarta.json-api",
    "jsonld-java",
    "titanium-json-ld",
    "protobuf",
    "thrift",
    "slf4j-api",
    "slf4j-simple",
)
#: One JVM, one thread of work: a small heap and the serial collector (2 shared cores).
JVM_OPTIONS = (
    "-Xmx1g",
    "-XX:+UseSerialGC",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
)
INSTALL = "apt-get install -y libapache-jena-java default-jre-headless raptor2-utils"
#: Jena's ``.jsonld`` reader is its JSON-LD 1.1 one (Titanium), which needs a JSON-P
#: implementation that Debian 12 does not package ("LOADING_DOCUMENT_FAILED" on any
#: file); ``.jsonld10`` selects its JSON-LD 1.0 reader (jsonld-java). Our JSON-LD is
#: JSON-LD 1.0 as well (a compacted document with an inline prefix context).
JSONLD10_SUFFIX = ".jsonld10"
READ_RESULTS = Path(__file__).parent / "java" / "ReadResults.java"
#: The statement riot reads from a one-line file after each dump, to cut its single
#: output stream into one piece per dump.
END_OF = b"<https://example.org/test/end-of> <https://example.org/test/dump> "
#: rapper's parser for each of our formats it can read.
RAPPER_INPUTS = {
    "turtle": "turtle",
    "trig": "trig",
    "nt": "ntriples",
    "nq": "nquads",
    "xml": "rdfxml",
}
RAPPER = "rapper"
BLANK_NODE = re.compile(rb"(?<!\S)_:\S+")


# --- Jena on the class path ---------------------------------------------------------
def xerces_messages(jar: Path, folder: Path) -> None:
    """Put the message bundles of Jena's Xerces copy in *folder*, where its classes
    look for them.

    Debian's ``jena-core.jar`` moves the classes of Jena's Xerces copy from
    ``org.apache.jena.ext.xerces`` to ``xerces`` but leaves their ``.properties``
    bundles behind, so every Jena command dies at start ("internal error" in
    ``XSSimpleTypeDecl.applyFacets1``). Nothing is copied where the jar is whole.
    """
    shaded = "org/apache/jena/ext/xerces/"
    with zipfile.ZipFile(jar) as archive:
        names = set(archive.namelist())
        if "xerces/impl/dv/SchemaDVFactory.class" not in names:
            return
        for name in names:
            moved = "xerces/" + name.removeprefix(shaded)
            bundle = name.startswith(shaded) and name.endswith(".properties")
            if bundle and moved not in names:
                target = folder / moved
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))


@pytest.fixture(scope="module")
def jena(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The start of a command running a Java class with Jena on its class path."""
    java = shutil.which("java")
    missing = [j for j in JENA_JARS if not (JAVA_DIR / f"{j}.jar").is_file()]
    if java is None or missing:
        pytest.fail(
            f"the Jena checks need Debian's Jena and a Java runtime (java: {java}, "
            f"missing: {' '.join(missing) or 'none'}): run `{INSTALL}` "
            "(`make test` installs them)",
            pytrace=False,
        )
    fixes = tmp_path_factory.mktemp("jena-classpath")
    xerces_messages(JAVA_DIR / "jena-core.jar", fixes)
    jars = [str(JAVA_DIR / f"{jar}.jar") for jar in JENA_JARS]
    return [java, *JVM_OPTIONS, "-cp", os.pathsep.join([str(fixes), *jars])]


# --- the dumps ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def dumps(repo_config: Config) -> tuple[Path, list[Dump]]:
    """The dumps folder of the real graph's build and its index, every file made
    (the build lists them; each is made on first download)."""
    folder = dumps_folder(repo_config.store_path.resolve())
    index = make_all(EmbeddedStore.open(repo_config.store_path), folder)
    formats = {d.format for d in index}
    assert formats == {f.name for f in RDF_FORMATS}, formats
    return folder, index


def statement(line: bytes) -> bytes:
    """An N-Triples/N-Quads line without its end, every blank node written ``_:``."""
    line = line.strip().removesuffix(b".").rstrip()
    return BLANK_NODE.sub(b"_:", line) if b"_:" in line else line


def statements(lines: Iterable[bytes]) -> Counter[bytes]:
    """N-Triples/N-Quads lines as a multiset of :func:`statement`."""
    return Counter(statement(line) for line in lines if line.strip())


def parsed(lines: Iterable[bytes]) -> Counter[tuple[str, ...]]:
    """N-Quads lines parsed by Oxigraph, every blank node written ``_:``: the same
    terms spelt differently (escapes) compare equal."""
    quads = ox.parse(input=b"\n".join(lines), format=ox.RdfFormat.N_QUADS)
    return Counter(
        tuple(
            "_:" if isinstance(term, ox.BlankNode) else str(term)
            for term in (q.subject, q.predicate, q.object, q.graph_name)
        )
        for q in quads
    )


@dataclass
class Difference:
    """How a file read by another engine differs from ours."""

    missing: int
    extra: int
    sample: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Ours:
    """One of our N-Triples or N-Quads files: its lines and their statements."""

    lines: list[bytes]
    statements: Counter[bytes]

    @classmethod
    def read(cls, path: Path) -> Ours:
        """Our file at *path*."""
        lines = path.read_bytes().splitlines()
        return cls(lines, statements(lines))


def compare(ours: Ours, theirs: list[bytes]) -> Difference | None:
    """None if *theirs* holds our statements, else what differs."""
    if statements(theirs) == ours.statements:
        return None
    expected, got = parsed(ours.lines), parsed(theirs)
    if expected == got:
        return None  # the same statements, spelt differently
    missing, extra = expected - got, got - expected
    sample = [f"missing {' '.join(s)}" for s in list(missing)[:3]]
    sample += [f"extra {' '.join(s)}" for s in list(extra)[:3]]
    return Difference(sum(missing.values()), sum(extra.values()), sample)


@dataclass
class RiotRun:
    """What riot made of the dumps: its status, its warnings and errors, the number of
    statements it read from each file, and how the whole-dataset files differ from ours
    (only those that differ)."""

    returncode: int
    messages: list[str]
    counts: dict[str, int]
    differences: dict[str, Difference]


@dataclass
class Riot:
    """The JVM running riot over every dump, started before the results are fetched."""

    process: subprocess.Popen[bytes]
    output: Path  # every dump read, written back as one N-Quads stream
    log: Path  # riot's warnings and errors


@pytest.fixture(scope="module")
def riot_process(
    jena: list[str],
    dumps: tuple[Path, list[Dump]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Riot]:
    """Start Jena RIOT on every dump, in one JVM (see :func:`riot` for its answer)."""
    folder, index = dumps
    work = tmp_path_factory.mktemp("riot")
    files: list[str] = []
    for number, dump in enumerate(index):
        source = folder / dump.file
        if dump.format == "jsonld":
            link = work / (source.stem + JSONLD10_SUFFIX)
            link.symlink_to(source)
            source = link
        end = work / f"end-{number}.nt"
        end.write_bytes(END_OF + b'"' + dump.file.encode() + b'" .\n')
        files += [str(source), str(end)]
    output, log = work / "riot.nq", work / "riot.log"
    with output.open("wb") as sink, log.open("wb") as messages:
        process = subprocess.Popen(
            [*jena, "riotcmd.riot", "--check", "--strict", "--output=nq", *files],
            stdout=sink,
            stderr=messages,
        )
    try:
        yield Riot(process, output, log)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.fixture(scope="module")
def riot(riot_process: Riot, dumps: tuple[Path, list[Dump]]) -> RiotRun:
    """What riot made of every dump: counts per file, and the whole-dataset files
    compared with ours statement by statement."""
    folder, index = dumps
    # Ours, for the whole-dataset files: our N-Quads for the formats with graphs, our
    # N-Triples (the union of the graphs) for the others.
    whole = {d.file: d for d in index if d.graph is None}
    ours = {
        datasets: Ours.read(folder / f"{DATASET_STEM}.{suffix}")
        for datasets, suffix in ((True, "nq"), (False, "nt"))
    }
    with_graphs = {f.name: f.datasets for f in RDF_FORMATS}
    returncode = riot_process.process.wait(timeout=600)
    counts: dict[str, int] = {}
    differences: dict[str, Difference] = {}
    piece: list[bytes] = []  # the statements of a whole-dataset file
    count = 0
    with riot_process.output.open("rb") as stream:
        for line in stream:
            if line.startswith(END_OF):
                file = line[len(END_OF) :].split(b'"')[1].decode()
                counts[file] = count
                if file in whole:
                    difference = compare(ours[with_graphs[whole[file].format]], piece)
                    if difference:
                        differences[file] = difference
                piece, count = [], 0
            elif line.strip():
                count += 1
                if index[len(counts)].file in whole:  # the file being read
                    piece.append(line)
    messages = riot_process.log.read_text("utf-8", "replace").splitlines()
    return RiotRun(returncode, messages, counts, differences)


# --- result sets --------------------------------------------------------------------
def rows(bindings: Iterable[Mapping[str, Mapping[str, str]]], fmt: str) -> Counter[Row]:
    """SPARQL JSON solutions as rows of canonical terms; for CSV (no term types, no
    unbound) rows of values, empty values left out."""

    def term(binding: Mapping[str, str]) -> str:
        kind = "literal" if binding["type"] == "typed-literal" else binding["type"]
        if fmt == "csv":
            return "_:" if kind == "bnode" else binding["value"]
        return canonical(
            kind,
            binding["value"],
            language=binding.get("xml:lang", ""),
            datatype=binding.get("datatype", ""),
        )

    return Counter(
        tuple(
            sorted(
                (var, term(binding))
                for var, binding in solution.items()
                if fmt != "csv" or binding["value"] != ""
            )
        )
        for solution in bindings
    )


def sparqlwrapper_bindings(
    endpoint: str, query: NamedQuery
) -> list[dict[str, dict[str, str]]]:
    """SPARQLWrapper's solutions (SPARQL JSON) of *query*."""
    client = SPARQLWrapper(endpoint)
    client.setQuery(query.text)
    client.setReturnFormat(JSON)
    payload = client.queryAndConvert()
    assert isinstance(payload, dict)
    solutions: list[dict[str, dict[str, str]]] = payload["results"]["bindings"]
    return solutions


@pytest.fixture(scope="module")
def jena_answers(
    jena: list[str],
    repo_live_url: str,
    riot_process: Riot,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, str], list[dict[str, dict[str, str]]]]:
    """Every competency query's answer in every results format from the live app, as
    Jena's readers read it: ``(query, format) → solutions``.

    Asks for ``riot_process`` only to start riot's JVM first: it reads the dumps on one
    core while these requests, this JVM and rapper use the other; the riot tests come
    last in this module.
    """
    work = tmp_path_factory.mktemp("results")
    arguments: list[str] = []
    for query in COMPETENCY_QUERIES:
        for fmt in RESULT_FORMATS:
            response = requests.post(
                repo_live_url + "/sparql",
                data={"query": query.text},
                headers={"Accept": fmt.media_type},
                timeout=120,
            )
            assert response.status_code == 200, (query.name, response.text[:300])
            assert response.headers["Content-Type"].split(";")[0] == fmt.media_type
            path = work / f"{query.name}{fmt.suffix}"
            path.write_bytes(response.content)
            arguments.append(f"{fmt.name}={path}")
    done = subprocess.run(
        [*jena, str(READ_RESULTS), *arguments],
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-3000:]
    answers: dict[tuple[str, str], list[dict[str, dict[str, str]]]] = {}
    suffixes = {f.suffix: f.name for f in RESULT_FORMATS}
    for piece in done.stdout.decode("utf-8").split("#file ")[1:]:
        file, _, body = piece.partition("\n")
        path = Path(file)
        payload = json.loads(body)
        answers[(path.stem, suffixes[path.suffix])] = payload["results"]["bindings"]
    assert len(answers) == len(arguments)
    return answers


@pytest.fixture(scope="module")
def sparqlwrapper_answers(
    repo_live_url: str,
) -> dict[str, list[dict[str, dict[str, str]]]]:
    """SPARQLWrapper's solutions of every competency query."""
    endpoint = repo_live_url + "/sparql"
    return {q.name: sparqlwrapper_bindings(endpoint, q) for q in COMPETENCY_QUERIES}


@pytest.mark.server
@pytest.mark.parametrize("fmt", [f.name for f in RESULT_FORMATS])
def test_jena_reads_the_rows_sparqlwrapper_gets(
    fmt: str,
    jena_answers: dict[tuple[str, str], list[dict[str, dict[str, str]]]],
    sparqlwrapper_answers: dict[str, list[dict[str, dict[str, str]]]],
) -> None:
    differ = []
    for query in COMPETENCY_QUERIES:
        expected = sparqlwrapper_answers[query.name]
        read = jena_answers[(query.name, fmt)]
        if len(read) != len(expected) or rows(read, fmt) != rows(expected, fmt):
            missing = rows(expected, fmt) - rows(read, fmt)
            extra = rows(read, fmt) - rows(expected, fmt)
            differ.append(
                f"{query.name}: {len(read)} rows, SPARQLWrapper {len(expected)}; "
                f"missing {list(missing)[:2]}, extra {list(extra)[:2]}"
            )
    assert not differ, "\n".join(differ)


# --- rapper ------------------------------------------------------------------------
@dataclass
class RapperRun:
    """rapper's count of one file, its status and its warnings and errors."""

    count: int | None
    returncode: int
    messages: list[str]


@pytest.fixture(scope="module")
def rapper(dumps: tuple[Path, list[Dump]]) -> dict[str, RapperRun]:
    """rapper counting every dump in a format it reads."""
    program = shutil.which(RAPPER)
    if program is None:
        pytest.fail(
            f"rapper is missing: run `{INSTALL}` (`make test` installs it)",
            pytrace=False,
        )
    folder, index = dumps
    runs: dict[str, RapperRun] = {}
    for dump in index:
        if dump.format not in RAPPER_INPUTS:
            continue
        done = subprocess.run(
            [program, "-i", RAPPER_INPUTS[dump.format], "-c", str(folder / dump.file)],
            capture_output=True,
            timeout=300,
            check=False,
        )
        lines = done.stderr.decode("utf-8", "replace").splitlines()
        counted = [re.search(r"Parsing returned (\d+) triples", line) for line in lines]
        numbers = [int(match.group(1)) for match in counted if match]
        messages = [line for line in lines if re.search(r"\b(Error|Warning)\b", line)]
        runs[dump.file] = RapperRun(
            numbers[0] if numbers else None, done.returncode, messages
        )
    return runs


def test_rapper_reads_every_format_but_json_ld() -> None:
    """A new format is either read by rapper here or listed as one it cannot read."""
    assert {f.name for f in RDF_FORMATS} - set(RAPPER_INPUTS) == {"jsonld"}


@pytest.mark.parametrize("fmt", list(RAPPER_INPUTS))
def test_rapper_counts_the_statements_the_index_gives(
    fmt: str, rapper: dict[str, RapperRun], dumps: tuple[Path, list[Dump]]
) -> None:
    listed = [d for d in dumps[1] if d.format == fmt]
    assert listed
    for dump in listed:
        run = rapper[dump.file]
        assert run.returncode == 0 and not run.messages, (dump.file, run.messages[:5])
        assert run.count == dump.triples, (dump.file, run.count, dump.triples)


# --- Jena RIOT (last: its JVM runs beside the result sets and rapper) ---------------
def test_jena_reads_every_dump_without_a_warning(riot: RiotRun) -> None:
    assert riot.returncode == 0 and not riot.messages, "\n".join(riot.messages[:20])


@pytest.mark.parametrize("fmt", [f.name for f in RDF_FORMATS])
def test_jena_counts_the_statements_the_index_gives(
    fmt: str, riot: RiotRun, dumps: tuple[Path, list[Dump]]
) -> None:
    listed = {d.file: d.triples for d in dumps[1] if d.format == fmt}
    read = {file: riot.counts.get(file) for file in listed}
    assert listed and read == listed


@pytest.mark.parametrize("fmt", [f.name for f in RDF_FORMATS])
def test_jena_reads_our_statements_from_the_whole_dataset(
    fmt: str, riot: RiotRun, dumps: tuple[Path, list[Dump]]
) -> None:
    (dump,) = [d for d in dumps[1] if d.format == fmt and d.graph is None]
    assert dump.file in riot.counts, f"riot did not reach {dump.file}"
    assert dump.file not in riot.differences, riot.differences[dump.file]
