"""Settings: one table drives flags, environment variables and docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mededkg.errors import ConfigError
from mededkg.settings import SETTINGS, load_config, settings_markdown

SETTINGS_DOC = Path(__file__).parent.parent / "docs" / "settings.md"


def test_flags_override_environment_which_overrides_defaults() -> None:
    config = load_config(
        {"port": "9001"}, {"MEDEDKG_PORT": "9002", "MEDEDKG_THREADS": "3"}
    )
    assert config.port == 9001
    assert config.threads == 3
    assert config.query_timeout == 30.0


def test_bad_values_name_the_setting_and_origin() -> None:
    with pytest.raises(ConfigError, match=r"query_timeout \(MEDEDKG_QUERY_TIMEOUT\)"):
        load_config({}, {"MEDEDKG_QUERY_TIMEOUT": "-1"})
    with pytest.raises(ConfigError, match="choose one of: embedded"):
        load_config({"store_backend": "tape"}, {})


def test_allowlist_is_parsed_into_sorted_iris() -> None:
    config = load_config(
        {}, {"MEDEDKG_SERVICE_ALLOWLIST": "http://b/sparql, http://a/q"}
    )
    assert config.service_allowlist == ("http://a/q", "http://b/sparql")


def test_store_path_defaults_under_the_root(tmp_path: Path) -> None:
    config = load_config({"root": str(tmp_path)}, {})
    assert config.store_path == tmp_path.resolve() / "var" / "store"


def test_settings_doc_is_generated_from_the_table() -> None:
    text = SETTINGS_DOC.read_text(encoding="utf-8")
    assert text == settings_markdown(), "run `mededkg docs` to regenerate it"
    for setting in SETTINGS:
        assert f"`{setting.env_var}`" in text
