"""Where the project's own files live: ontology/, data/, queries/.

In a source checkout (editable install) they are beside the package; in a wheel they
ship inside it as ``mededkg/_project/``. Nothing is resolved against the current
working directory.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def default_root() -> Path:
    """Return the folder holding ``ontology/``, ``data/`` and ``queries/``."""
    bundled = _PACKAGE_DIR / "_project"
    if (bundled / "ontology").is_dir():
        return bundled
    return _PACKAGE_DIR.parent


def ontology_dir(root: Path) -> Path:
    """The ontology folder of a project *root*."""
    return root / "ontology"


def shapes_dir(root: Path) -> Path:
    """The SHACL shapes folder of a project *root*."""
    return root / "ontology" / "shapes"


def data_dir(root: Path) -> Path:
    """The instance data folder of a project *root*."""
    return root / "data"


def queries_dir(root: Path) -> Path:
    """The named queries folder of a project *root*."""
    return root / "queries"
