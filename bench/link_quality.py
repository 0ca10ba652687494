"""How good is `mededkg link`? Precision, recall and F1 against two gold standards
built from an independent signal, with the matcher denied that signal.

1. **hipo-ror (domains)** — gold: a Hipo China record and a ROR China record whose web
   domains agree (registered domain of Hipo's domains/web pages = one of the ROR
   record's domains/websites), kept when exactly one ROR *education* record agrees.
   The matcher then runs WITHOUT domains: Hipo names (and province, where Hipo has
   one) against ROR names, labels, aliases, acronyms and places.
2. **moe-ror (Chinese names)** — gold: an MOE institution and the ROR record whose
   normalised Chinese name (or alias) equals the MOE name, exactly one active record
   (the importer's join rule, on all 2,756 rows). The matcher then runs with every
   name form the MOE list gives (its Chinese name — so also its pinyin and its
   reading, :mod:`mededkg.matching.similarity` — and its machine-translated English
   name) and its city, against the ROR records WITHOUT their Chinese-character names and
   without web domains: ROR's English names, aliases, acronyms, other-language
   labels, romanisations and places. This is the case the linker is for: a dataset
   that names Chinese institutions in Latin letters only.

   The gold pairs are split once, by rule, into a TUNING set (MOE codes whose SHA-256
   starts with 0–4) and a TEST set (5–f), written to
   ``bench/data/link-gold-moe-ror.{tune,test}.tsv``. Changes to the matcher are judged
   on the tuning set only; the figure quoted in docs/linking.md is the test set's.

Precision = correct accepted links / accepted links for gold entities; recall =
correct accepted links / gold pairs. Links proposed for entities without a gold pair
cannot be judged and are counted apart.

3. **moe-ror +words** — the MOE ↔ ROR tasks again with the word table of
   ``mededkg link --translate`` (:func:`word_table`: learned from ROR records that are
   in neither half of the gold set, and the MOE list's own name pairs).

Run: ``python bench/link_quality.py`` — prints a table, writes
``bench/results/link_quality.json``; ``--tune`` evaluates the tuning set only and
writes nothing (for working on the matcher).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mededkg.importer.common import read_csv  # noqa: E402
from mededkg.importer.institutions import join  # noqa: E402
from mededkg.importer.ror import read_records  # noqa: E402
from mededkg.matching import (  # noqa: E402
    gazetteer,
    lexicon,
    names,
)
from mededkg.matching.link import (  # noqa: E402
    RECORD_KINDS,
    Entity,
    Matcher,
    TargetRecord,
    Thresholds,
    decide,
    read_ror_json,
    registered_domain,
)

SOURCES = ROOT / "data" / "sources"
ROR_FILES = (
    SOURCES / "ror-china" / "ror_cn_records_schema_v2.json",
    SOURCES / "ror-china" / "ror_cn_records_schema_v1_only.json",
)
HIPO = SOURCES / "hipo-universities" / "china_subset.json"
MOE = SOURCES / "china-heis-moe" / "china_heis_moe_list.csv"
RESULTS = ROOT / "bench" / "results" / "link_quality.json"
GOLD_SPLIT = ROOT / "bench" / "data" / "link-gold-moe-ror.{}.tsv"

#: The threshold `mededkg link` uses (mededkg.matching.link.Thresholds().accept).
CHOSEN = Thresholds().accept
SWEEP = (0.80, 0.85, 0.88, 0.90, 0.92, 0.95)


@dataclass(frozen=True)
class Task:
    """One evaluation: entities, target records and the gold pairs."""

    name: str
    entities: tuple[Entity, ...]
    records: tuple[TargetRecord, ...]
    gold: dict[str, str]
    #: The word table the matcher weighs translations with (``--translate``).
    words: lexicon.Lexicon | None = None
    #: The record kinds the entities can be (both tasks link universities).
    kinds: tuple[str, ...] = RECORD_KINDS["institutions"]


def ror_records() -> list[TargetRecord]:
    """Every ROR China record, both schemas, as the linker reads them."""
    return [r for path in ROR_FILES for r in read_ror_json(path)]


def _ror_raw() -> list[dict[str, object]]:
    raw: list[dict[str, object]] = []
    for path in ROR_FILES:
        raw += json.loads(path.read_text(encoding="utf-8"))
    return raw


def _is_education(record: dict[str, object]) -> bool:
    types = record.get("types") or []
    return any(str(t).lower() == "education" for t in types)  # type: ignore[union-attr]


def hipo_task() -> Task:
    """Hipo ↔ ROR, gold by web domains, matched without domains."""
    hipo = json.loads(HIPO.read_text(encoding="utf-8"))
    by_domain: dict[str, set[str]] = {}
    education = {str(r["id"]) for r in _ror_raw() if _is_education(r)}
    records = ror_records()
    for record in records:
        for domain in record.domains:
            by_domain.setdefault(domain, set()).add(record.iri)
    entities: list[Entity] = []
    gold: dict[str, str] = {}
    for n, item in enumerate(hipo):
        iri = f"hipo:{n:04d}"
        hosts = {registered_domain(d) for d in item["domains"] + item["web_pages"]}
        agree = {i for h in hosts for i in by_domain.get(h, set())} & education
        if len(agree) == 1:
            gold[iri] = next(iter(agree))
        places = (item["state-province"],) if item.get("state-province") else ()
        entities.append(
            Entity(
                iri,
                item["name"],
                (item["name"],),
                places=tuple(gazetteer.place_key(p) for p in places),
            )
        )
    stripped = tuple(replace(r, domains=()) for r in records)
    return Task("hipo-ror (gold: web domains)", tuple(entities), stripped, gold)


def split_of(moe_code: str) -> str:
    """``tune`` or ``test``: the fixed split of the MOE ↔ ROR gold pairs."""
    digest = hashlib.sha256(moe_code.encode("utf-8")).hexdigest()
    return "tune" if digest[0] in "01234" else "test"


def moe_gold() -> dict[str, str]:
    """MOE ↔ ROR gold pairs: the importer's Chinese-name join (without the linker's
    own accepted links)."""
    joined = join(read_csv(MOE), read_records(SOURCES / "ror-china"))
    return {f"moe:{code}": record.ror_id for code, record in joined.matched.items()}


def write_gold_split(gold: dict[str, str]) -> None:
    """Write the two halves of the gold set (for the record: which pair is in which)."""
    for part in ("tune", "test"):
        rows = sorted(
            (e, t) for e, t in gold.items() if split_of(e.removeprefix("moe:")) == part
        )
        text = "subject_id\tobject_id\n" + "".join(f"{e}\t{t}\n" for e, t in rows)
        GOLD_SPLIT.parent.mkdir(parents=True, exist_ok=True)
        Path(str(GOLD_SPLIT).format(part)).write_text(text, encoding="utf-8")


def moe_tasks(
    gold: dict[str, str], parts: Sequence[str] = ("tune", "test")
) -> list[Task]:
    """MOE ↔ ROR against *gold* (:func:`moe_gold`); the MOE side has every name form
    it gives, the ROR side no Chinese-character name and no web domain. One task per
    part."""
    moe = read_csv(MOE)
    entities = tuple(
        Entity(
            f"moe:{row['moe_code']}",
            row["name_zh"],
            tuple(
                n
                for n in (row["name_zh"], row["name_en_machine_translated"])
                if n.strip() and n.strip() != "None"
            ),
            places=(gazetteer.place_key(row["location"]),),
        )
        for row in moe
    )
    records = tuple(
        replace(
            r,
            names=tuple(n for n in r.names if not names.is_chinese(n)),
            aliases=tuple(n for n in r.aliases if not names.is_chinese(n)),
            domains=(),
        )
        for r in ror_records()
    )
    records = tuple(r for r in records if r.names)
    return [
        Task(
            f"moe-ror {part} (gold: Chinese names)",
            entities,
            records,
            {e: t for e, t in gold.items() if split_of(e.removeprefix("moe:")) == part},
        )
        for part in parts
    ]


def word_table(gold: dict[str, str]) -> lexicon.Lexicon:
    """The word table of the ``--translate`` rows: learned from every ROR record
    that names itself in both scripts, except the gold targets of both halves (so
    neither half's answers are in it), and from the MOE list's Chinese and
    machine-translated English names (the entities' own names, as ``mededkg link
    --translate`` learns from the graph's names)."""
    targets = set(gold.values())
    found = lexicon.pairs(r.names for r in ror_records() if r.iri not in targets)
    found += lexicon.pairs(
        (row["name_zh"], row["name_en_machine_translated"])
        for row in read_csv(MOE)
        if row["name_en_machine_translated"].strip() != "None"
    )
    return lexicon.learn(found)


def evaluate(
    task: Task, accept: float, candidates: dict[str, list]
) -> dict[str, float]:  # type: ignore[type-arg]
    """Precision, recall and F1 of the accepted links at threshold *accept*."""
    result = decide(task.entities, candidates, thresholds=Thresholds(accept=accept))
    predicted = {
        d.candidate.entity.iri: d.candidate.target.iri for d in result.accepted
    }
    judged = {e: t for e, t in predicted.items() if e in task.gold}
    correct = sum(1 for e, t in judged.items() if task.gold[e] == t)
    precision = correct / len(judged) if judged else 1.0
    recall = correct / len(task.gold) if task.gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "threshold": accept,
        "gold_pairs": len(task.gold),
        "accepted_for_gold_entities": len(judged),
        "correct": correct,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "accepted_unjudged": len(predicted) - len(judged),
        "errors": sorted(
            f"{e} -> {t} (gold {task.gold[e]})"
            for e, t in judged.items()
            if task.gold[e] != t
        ),
    }


def translated(task: Task, words: lexicon.Lexicon) -> Task:
    """*task* matched with the word table (``mededkg link --translate``)."""
    return replace(task, name=task.name.replace(" (", " +words ("), words=words)


def run(tasks: Iterable[Task], sweep: Sequence[float] = SWEEP) -> dict[str, object]:
    """Match each task once and evaluate it at every threshold of *sweep*."""
    out: dict[str, object] = {"chosen_threshold": CHOSEN, "tasks": []}
    for task in tasks:
        started = time.perf_counter()
        matcher = Matcher(
            task.entities, use_domains=False, words=task.words, kinds=task.kinds
        )
        matcher.add_all(task.records)
        candidates = matcher.candidates()
        seconds = time.perf_counter() - started
        rows = [evaluate(task, t, candidates) for t in sorted({*sweep, CHOSEN})]
        out["tasks"].append(  # type: ignore[attr-defined]
            {
                "task": task.name,
                "entities": len(task.entities),
                "target_records": len(task.records),
                "match_seconds": round(seconds, 2),
                "chosen": next(r for r in rows if r["threshold"] == CHOSEN),
                "sweep": rows,
            }
        )
    return out


def main() -> None:
    """Run both evaluations, print the table and write the JSON results."""
    gold = moe_gold()
    words = word_table(gold)
    if "--tune" in sys.argv[1:]:
        tune = moe_tasks(gold, ("tune",))
        tune += [translated(t, words) for t in tune]
        for task in run(tune)["tasks"]:  # type: ignore[attr-defined]
            _print(task)
        return
    write_gold_split(gold)
    moe = moe_tasks(gold)
    results = run([hipo_task(), *moe, *(translated(t, words) for t in moe)])
    for task in results["tasks"]:  # type: ignore[attr-defined]
        _print(task)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(results, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def _print(task: dict[str, Any]) -> None:
    print(
        f"{'task':<36} {'thr':>5} {'gold':>5} {'acc':>5} {'ok':>5} "
        f"{'P':>6} {'R':>6} {'F1':>6} {'unjudged':>8}"
    )
    for row in task["sweep"]:
        mark = " *" if row["threshold"] == CHOSEN else ""
        print(
            f"{task['task']:<36} {row['threshold']:>5.2f} {row['gold_pairs']:>5} "
            f"{row['accepted_for_gold_entities']:>5} {row['correct']:>5} "
            f"{row['precision']:>6.3f} {row['recall']:>6.3f} {row['f1']:>6.3f} "
            f"{row['accepted_unjudged']:>8}{mark}"
        )
    for error in task["chosen"]["errors"]:
        print(f"    wrong at the chosen threshold: {error}")


if __name__ == "__main__":
    main()
