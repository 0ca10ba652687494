"""The command line: exit codes, messages, and every verb over the fixture project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph

from mededkg.cli import main
from mededkg.query.formats import rdf_format_names
from mededkg.settings import SETTINGS, Config
from tests.conftest import FIXTURE_ROOT


def _args(config: Config) -> list[str]:
    return ["--root", str(config.root), "--store-path", str(config.store_path)]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``mededkg`` command in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "mededkg", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONWARNINGS": "error::DeprecationWarning:mededkg",
        },
    )


def test_build_prints_steps_and_exits_0(tmp_path: Path) -> None:
    done = run(
        "build", "--root", str(FIXTURE_ROOT), "--store-path", str(tmp_path / "s")
    )
    assert done.returncode == 0, done.stderr
    for step in ("load", "reason", "validate", "store"):
        assert step in done.stderr
    assert "conforms" in done.stderr


def test_quiet_build_prints_nothing(tmp_path: Path) -> None:
    done = run(
        "build", "-q", "--root", str(FIXTURE_ROOT), "--store-path", str(tmp_path / "s")
    )
    assert done.returncode == 0 and done.stderr == ""


def test_malformed_file_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("<http://e/a> <http://e/b> .\n")
    done = run(
        "build",
        "--root",
        str(FIXTURE_ROOT),
        "--store-path",
        str(tmp_path / "s"),
        "--add",
        str(bad),
    )
    assert done.returncode == 2
    assert f"{bad}:1:" in done.stderr
    assert "Traceback" not in done.stderr


def test_violation_exits_1_with_the_report(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        "<https://w3id.org/mededkg/id/institution/x> a "
        "<https://w3id.org/mededkg/ontology#MedicalUniversity> .\n"
    )
    done = run(
        "build",
        "--root",
        str(FIXTURE_ROOT),
        "--store-path",
        str(tmp_path / "s"),
        "--add",
        str(bad),
    )
    assert done.returncode == 1
    assert "focus node: https://w3id.org/mededkg/id/institution/x" in done.stderr
    assert "path:       https://w3id.org/mededkg/ontology#moeCode" in done.stderr
    assert "An institution needs exactly one 10-digit MOE code." in done.stderr
    assert "previous store is unchanged" in done.stderr


def test_validate_formats(fixture_config: Config) -> None:
    runner = CliRunner()
    text = runner.invoke(main, ["validate", *_args(fixture_config)])
    assert text.exit_code == 0 and "conforms" in text.output
    as_json = runner.invoke(
        main, ["validate", "--format", "json", *_args(fixture_config)]
    )
    assert json.loads(as_json.output) == {
        "conforms": True,
        "validator": "rudof",
        "results": [],
    }
    turtle = runner.invoke(
        main, ["validate", "--format", "turtle", *_args(fixture_config)]
    )
    assert len(Graph().parse(data=turtle.output, format="turtle")) > 0


def test_query_command_by_name_and_file(fixture_config: Config) -> None:
    runner = CliRunner()
    by_name = runner.invoke(
        main, ["query", "hospitals", "--format", "csv", *_args(fixture_config)]
    )
    assert by_name.exit_code == 0, by_name.output
    assert by_name.output.splitlines()[0] == "hospital,label,institution"
    path = FIXTURE_ROOT / "queries" / "hospitals.rq"
    by_file = runner.invoke(
        main, ["query", str(path), "--format", "csv", *_args(fixture_config)]
    )
    assert by_file.output == by_name.output
    table = runner.invoke(main, ["query", "hospitals", *_args(fixture_config)])
    assert "Example Hospital" in table.output


def test_query_parameter_is_bound(fixture_config: Config) -> None:
    runner = CliRunner()
    other = runner.invoke(
        main,
        [
            "query",
            "hospitals",
            "--format",
            "json",
            "-p",
            "institution=https://w3id.org/mededkg/id/institution/0000000000",
            *_args(fixture_config),
        ],
    )
    assert json.loads(other.output)["results"]["bindings"] == []


def test_unknown_query_lists_the_names(fixture_config: Config) -> None:
    result = CliRunner().invoke(main, ["query", "nope", *_args(fixture_config)])
    assert result.exit_code == 2
    assert "hospitals" in result.output


def test_no_store_says_run_build(tmp_path: Path) -> None:
    done = run(
        "query",
        "hospitals",
        "--root",
        str(FIXTURE_ROOT),
        "--store-path",
        str(tmp_path / "none"),
    )
    assert done.returncode == 2
    assert "run `mededkg build`" in done.stderr


def test_unknown_export_format_lists_choices(fixture_config: Config) -> None:
    result = CliRunner().invoke(
        main, ["export", "--format", "docx", *_args(fixture_config)]
    )
    assert result.exit_code == 2
    for name in rdf_format_names():
        assert name in result.output


@pytest.mark.parametrize("fmt", rdf_format_names())
def test_export_to_file_is_deterministic(
    fixture_config: Config, tmp_path: Path, fmt: str
) -> None:
    runner = CliRunner()
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = runner.invoke(
            main, ["export", "--format", fmt, "-o", str(out), *_args(fixture_config)]
        )
        assert result.exit_code == 0, result.output
    assert first.read_bytes() == second.read_bytes() and first.stat().st_size > 0


def test_export_one_graph_by_short_name(fixture_config: Config) -> None:
    result = CliRunner().invoke(
        main,
        ["export", "--format", "nt", "--graph", "hospitals", *_args(fixture_config)],
    )
    assert len(Graph().parse(data=result.output, format="nt")) == 3


def test_stats_json(fixture_config: Config) -> None:
    result = CliRunner().invoke(
        main, ["stats", "--format", "json", *_args(fixture_config)]
    )
    stats = json.loads(result.output)
    names = {g["iri"].rsplit("/", 1)[-1] for g in stats["graphs"]}
    assert {"ontology", "shapes", "inferred", "institutions", "hospitals"} <= names


def test_help_lists_every_setting_a_command_takes() -> None:
    from mededkg.settings import SERVER_ONLY

    runner = CliRunner()
    group_help = runner.invoke(main, ["--help"]).output
    for command in ("build", "serve", "query", "export"):
        command_help = runner.invoke(main, [command, "--help"]).output
        for setting in SETTINGS:
            if command == "serve" or setting.name not in SERVER_ONLY:
                assert setting.flag in command_help, (command, setting.name)
    for setting in SETTINGS:
        assert setting.env_var in group_help
    assert "Exit codes" in group_help


def test_server_settings_are_flags_of_serve_only() -> None:
    from mededkg.settings import SERVER_ONLY

    runner = CliRunner()
    serve_help = runner.invoke(main, ["serve", "--help"]).output
    for command in ("build", "validate", "query", "export", "stats", "link"):
        text = runner.invoke(main, [command, "--help"]).output
        assert "--port" not in text and "--update-token" not in text, command
        assert "--store-path" in text and "--query-timeout" in text, command
    for setting in SETTINGS:
        assert setting.flag in serve_help, setting.name
    assert {"port", "host", "update_token"} <= SERVER_ONLY
    refused = runner.invoke(main, ["validate", "--port", "9000"])
    assert refused.exit_code == 2 and "No such option" in refused.output
