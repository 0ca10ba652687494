"""The linker's vocabulary: entity kinds and target kinds, the records, candidates,
decisions and thresholds it passes between its steps, its errors and small helpers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import urlparse

from rdflib import RDFS, SKOS, URIRef

from mededkg.errors import MedEdKGError
from mededkg.matching import gazetteer
from mededkg.matching.sssom import COLUMNS
from mededkg.namespaces import MEDEDKG, SCHEMA

#: The entity kinds ``mededkg link --entities`` accepts, and the classes of each:
#: institutions are every institution of the MOE list and every medical education
#: institution (a medical unit of a university is one without being on the list).
ENTITY_CLASSES: dict[str, tuple[URIRef, ...]] = {
    "institutions": (
        MEDEDKG.HigherEducationInstitution,
        MEDEDKG.MedicalEducationInstitution,
    ),
    "hospitals": (MEDEDKG.Hospital,),
    "disciplines": (MEDEDKG.Discipline,),
}

#: The kinds of record (ROR ``types``) each entity kind can be linked to; a record
#: that says it is something else (a government body for an institution) ranks lower.
RECORD_KINDS: dict[str, tuple[str, ...]] = {
    "institutions": ("education",),
    "hospitals": ("healthcare",),
}

#: The kinds of target a reader exists for.
TARGET_KINDS = ("ror", "hipo", "table", "rdf", "sparql")

#: ``author_label`` of the rows this tool writes; any other author is a curator.
TOOL_AUTHOR = "mededkg link"
TOOL = "mededkg link"

#: Where Hipo records (which have no identifiers of their own) get their IRIs: the
#: record's main web domain under this namespace.
HIPO_NAMESPACE = "https://w3id.org/mededkg/id/hipo/"

#: The SSSOM columns of a linkset: the project's, and the two a curator sets.
LINK_COLUMNS = (*COLUMNS, "reviewer_label", "predicate_modifier")

REVIEW_COLUMNS = (
    "subject_id",
    "subject_label",
    "predicate_id",
    "object_id",
    "object_label",
    "confidence",
    "reason",
    "comment",
)

_LABELS = (
    RDFS.label,
    SKOS.prefLabel,
    SKOS.altLabel,
    SCHEMA.name,
    SCHEMA.alternateName,
    URIRef("http://xmlns.com/foaf/0.1/name"),
)
_URLS = (SCHEMA.url, URIRef("http://xmlns.com/foaf/0.1/homepage"))
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9&\-]{1,9}$")


class LinkError(MedEdKGError):
    """A target dataset cannot be read, or an output cannot be written as asked.

    Attributes:
        source: the file or endpoint at fault.
    """

    def __init__(self, source: str | Path, message: str) -> None:
        self.source = str(source)
        super().__init__(f"{source}: {message}")


class OverwriteRefused(LinkError):
    """The output exists and the tool's own rows in it would change (use --force)."""


# --- data ------------------------------------------------------------------------
@dataclass(frozen=True)
class Entity:
    """A graph resource to link: its names and the evidence that can corroborate."""

    iri: str
    label: str
    names: tuple[str, ...]
    acronyms: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    places: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetRecord:
    """A record of the external dataset, reduced to what matching needs."""

    iri: str
    label: str
    names: tuple[str, ...]
    acronyms: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    active: bool = True
    aliases: tuple[str, ...] = ()
    #: what kind of organisation the record says it is (ROR ``types``: education,
    #: healthcare, facility, government…); empty when the dataset does not say.
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """One entity–record pair with its score and the evidence, as readable text."""

    entity: Entity
    target: TargetRecord
    score: float
    evidence: tuple[str, ...]

    @property
    def confidence(self) -> float:
        """The score as an SSSOM confidence (evidence can push a score past 1)."""
        return min(self.score, 1.0)

    @property
    def justification(self) -> str:
        """The evidence as one sentence."""
        return "; ".join(self.evidence)


@dataclass(frozen=True)
class Decision:
    """What :func:`decide` made of an entity's best candidate."""

    candidate: Candidate
    predicate: str
    accepted: bool
    reason: str = ""


@dataclass(frozen=True)
class Thresholds:
    """Scores that decide: accept at or above *accept*, review from *review* up;
    a runner-up within *margin* of the best makes the entity ambiguous."""

    accept: float = 0.9
    review: float = 0.7
    margin: float = 0.03


@dataclass(frozen=True)
class LinkResult:
    """Accepted links, review items and the entities with no candidate at all."""

    accepted: tuple[Decision, ...]
    review: tuple[Decision, ...]
    unlinked: tuple[Entity, ...]


@dataclass
class WriteReport:
    """What :func:`write_linkset` did."""

    sssom: Path
    review: Path
    accepted: int = 0
    review_items: int = 0
    curated_kept: int = 0
    tool_rows_replaced: int = 0
    changed: bool = False
    notes: list[str] = field(default_factory=list)


# --- small helpers ---------------------------------------------------------------
def registered_domain(host_or_url: str) -> str:
    """The organisation's domain of a host or URL (``www.`` and sub-domains dropped;
    three labels under ``edu.cn``-style second levels).

    >>> registered_domain("https://www.ahmu.edu.cn/index.html")
    'ahmu.edu.cn'
    >>> registered_domain("mail2.sysu.edu.cn"), registered_domain("www.hku.hk")
    ('sysu.edu.cn', 'hku.hk')
    """
    text = host_or_url.strip().lower()
    host = urlparse(text).hostname if "://" in text else text.split("/")[0]
    if not host:
        return ""
    parts = [p for p in host.rstrip(".").split(".") if p]
    second = {"edu", "com", "org", "ac", "gov", "net"}
    if len(parts) >= 3 and len(parts[-1]) == 2 and parts[-2] in second:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        item = item.strip()
        if item:
            seen.setdefault(item, None)
    return tuple(seen)


def _places(*values: str | None) -> tuple[str, ...]:
    return _unique(gazetteer.place_key(v) for v in values if v)


def _domains(*values: str | None) -> tuple[str, ...]:
    return _unique(registered_domain(v) for v in values if v)


def tool_version() -> str:
    """The installed MedEdKG version (``mapping_tool_version``)."""
    try:
        return metadata.version("mededkg")
    except metadata.PackageNotFoundError:
        return "0+unknown"
