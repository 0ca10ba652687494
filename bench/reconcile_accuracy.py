"""Top-1 accuracy of ``/reconcile`` on a realistic batch of institution names.

The batch is built from the sources, not by hand (:func:`build_cases`):

- every medical institution of the Ministry of Education list
  (``data/sources/china-heis-moe``) that is in the graph, its Chinese name in one of
  four forms, taken in turn: as listed, in traditional characters (OpenCC ``s2t``),
  with the other suffix (大学 ↔ 学院, only if no other institution has that name), and
  followed by its city in full-width parentheses;
- every ROR record (``data/sources/ror-china``) the import joined to an institution or
  a hospital of the graph: its English name in one of four forms (as listed, lower
  case, without punctuation, in full-width letters), each English alias, the Chinese
  name of hospitals, and for institutions the MOE list's machine-translated English
  name when it differs from ROR's;
- negatives: every 25th institution of the MOE list that is not in the graph (not
  medical); a correct answer there is no ``match: true``.

Expected ids come from the import's join: ``id/institution/<MOE code>`` and the ROR id
of each graph resource (``mededkg:rorId``). Each query is sent once by name alone and
once with its province (ROR's, or the MOE list's provincial authority) as a property.

Usage: ``python bench/reconcile_accuracy.py [--url http://127.0.0.1:8000]
[--write-batch]`` — without ``--url`` the built store is served in-process. Prints the
numbers and writes ``bench/results/reconcile_accuracy.json``; ``--write-batch`` also
rewrites ``tests/data/reconcile/batch.csv`` (the test checks it is up to date).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import opencc
from rdflib import Graph, Literal, URIRef

ROOT = Path(__file__).resolve().parent.parent
BATCH = ROOT / "tests" / "data" / "reconcile" / "batch.csv"
RESULTS = ROOT / "bench" / "results" / "reconcile_accuracy.json"
BASE = "https://w3id.org/mededkg/"
MEDEDKG = BASE + "ontology#"
#: Queries per request (OpenRefine sends 10; a larger batch is fine for the service).
CHUNK = 50
#: Every how many non-medical MOE institutions one becomes a negative case.
NEGATIVE_EVERY = 25

Send = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """One query of the batch and the id it should find (``""``: none)."""

    query: str
    form: str
    expected: str
    province: str
    source: str


def build_cases(root: Path = ROOT) -> list[Case]:
    """The realistic batch, built from ``data/sources`` and the import's join."""
    graph = Graph()
    for name in ("institutions.ttl", "ror.ttl", "hospitals.ttl"):
        graph.parse(root / "data" / name)
    # the reconciled institutions are the medical ones (of any kind) and hospitals;
    # the other institutions of the MOE list are the negatives
    medical_ids = {
        str(s)[len(BASE) :]
        for s in graph.subjects(URIRef(MEDEDKG + "medicalEducationEvidence"), None)
    }
    by_moe = {
        code: iri
        for code, iri in _ids_by(graph, "moeCode").items()
        if iri in medical_ids
    }
    by_ror = {
        ror: iri
        for ror, iri in _ids_by(graph, "rorId").items()
        if iri in medical_ids or iri.startswith("id/organization/")
    }
    known_names = {str(o) for o in graph.objects(None, URIRef(RDFS_LABEL))}
    s2t = opencc.OpenCC("s2t")
    cases: list[Case] = []
    moe_rows = _csv(root / "data/sources/china-heis-moe/china_heis_moe_list.csv")
    medical = [r for r in moe_rows if r["moe_code"] in by_moe]
    for n, row in enumerate(medical):
        name, expected = row["name_zh"], by_moe[row["moe_code"]]
        province = row["authority"] if row["authority"].endswith(PROVINCIAL) else ""
        forms = [
            ("moe-zh", name),
            ("moe-zh-traditional", str(s2t.convert(name))),
            ("moe-zh-suffix", _other_suffix(name, known_names | _names(moe_rows))),
            ("moe-zh-city", f"{name}（{row['location']}）"),
        ]
        form, query = _pick(forms, n)
        cases.append(Case(query, form, expected, province, f"moe:{row['seq']}"))
    others = [r for r in moe_rows if r["moe_code"] not in by_moe]
    for row in others[::NEGATIVE_EVERY]:
        cases.append(Case(row["name_zh"], "negative-zh", "", "", f"moe:{row['seq']}"))
    moe_english = {
        by_moe[r["moe_code"]]: r["name_en_machine_translated"] for r in medical
    }
    ror_rows = _csv(root / "data/sources/ror-china/ror_cn_flat.csv")
    joined = [r for r in ror_rows if r["ror_id"].rsplit("/", 1)[-1] in by_ror]
    for n, row in enumerate(joined):
        expected = by_ror[row["ror_id"].rsplit("/", 1)[-1]]
        source, province = f"ror:{row['ror_id'].rsplit('/', 1)[-1]}", row["province"]
        forms = [
            ("ror-en", row["name"]),
            ("ror-en-lowercase", row["name"].lower()),
            ("ror-en-no-punctuation", _no_punctuation(row["name"])),
            ("ror-en-fullwidth", _fullwidth(row["name"])),
        ]
        form, query = _pick(forms, n)
        cases.append(Case(query, form, expected, province, source))
        for alias in _split(row["aliases"]):
            if alias != row["name"]:
                cases.append(Case(alias, "ror-alias", expected, province, source))
        if expected.startswith("id/organization/"):
            for zh in _split(row["name_zh"])[:1]:
                cases.append(Case(zh, "ror-zh-hospital", expected, province, source))
        english = moe_english.get(expected, "")
        if english and english.casefold() != row["name"].casefold():
            cases.append(Case(english, "moe-en-machine", expected, province, source))
    return cases


RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
PROVINCIAL = ("省", "自治区", "市")


def _ids_by(graph: Graph, local: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for subject, value in graph.subject_objects(URIRef(MEDEDKG + local)):
        if isinstance(value, Literal) and str(subject).startswith(BASE):
            found.setdefault(str(value), str(subject)[len(BASE) :])
    return found


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _names(rows: Iterable[dict[str, str]]) -> set[str]:
    return {r["name_zh"] for r in rows}


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _pick(forms: list[tuple[str, str]], n: int) -> tuple[str, str]:
    """The n-th form in turn, skipping forms a name has no variant for."""
    usable = [(form, text) for form, text in forms if text]
    return usable[n % len(usable)]


def _other_suffix(name: str, taken: set[str]) -> str:
    for old, new in (("大学", "学院"), ("学院", "大学")):
        if name.endswith(old):
            variant = name[: -len(old)] + new
            return "" if variant in taken else variant
    return ""


def _no_punctuation(text: str) -> str:
    text = text.replace("&", "and")
    kept = "".join(
        c if not unicodedata.category(c).startswith("P") else " " for c in text
    )
    return " ".join(kept.split())


def _fullwidth(text: str) -> str:
    """ASCII letters, digits and punctuation as their full-width forms (as a Chinese
    input method types them)."""
    return "".join(
        "\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c
        for c in text
    )


# --- measuring -----------------------------------------------------------------------
def measure(cases: list[Case], send: Send) -> dict[str, Any]:
    """Send every case (by name alone, then with its province) and count.

    Args:
        cases: the batch.
        send: posts one ``queries`` batch to ``/reconcile`` and returns the answer.

    Returns:
        The numbers written to ``bench/results/reconcile_accuracy.json``.
    """
    started = time.perf_counter()
    plain = _answers(cases, send, with_province=False)
    constrained = _answers(cases, send, with_province=True)
    elapsed = time.perf_counter() - started
    report: dict[str, Any] = {
        "cases": len(cases),
        "positives": sum(1 for c in cases if c.expected),
        "negatives": sum(1 for c in cases if not c.expected),
        "by_name": _score(cases, plain),
        "with_province": _score(
            [c for c in cases if c.province],
            [a for c, a in zip(cases, constrained, strict=True) if c.province],
        ),
        "forms": dict(sorted(Counter(c.form for c in cases).items())),
    }
    report["seconds"] = round(elapsed, 2)
    return report


def _answers(cases: list[Case], send: Send, *, with_province: bool) -> list[list[Any]]:
    results: list[list[Any]] = []
    for start in range(0, len(cases), CHUNK):
        chunk = cases[start : start + CHUNK]
        batch: dict[str, Any] = {}
        for n, case in enumerate(chunk):
            query: dict[str, Any] = {"query": case.query, "limit": 3}
            if with_province and case.province:
                query["properties"] = [{"pid": "province", "v": case.province}]
            batch[f"q{n}"] = query
        answer = send(batch)
        results.extend(answer[f"q{n}"]["result"] for n in range(len(chunk)))
    return results


def _score(cases: list[Case], answers: list[list[Any]]) -> dict[str, Any]:
    top1 = Counter[str]()
    total = Counter[str]()
    matched = right_matches = false_matches = 0
    misses: list[dict[str, str]] = []
    wrong_matches: list[dict[str, str]] = []
    for case, result in zip(cases, answers, strict=True):
        top = result[0] if result else None
        sure = bool(top and top.get("match"))
        matched += sure
        if sure and top and top["id"] != case.expected:
            wrong_matches.append(
                {"query": case.query, "expected": case.expected, "got": top["id"]}
            )
        if not case.expected:
            false_matches += sure
            continue
        total[case.form] += 1
        if top and top["id"] == case.expected:
            top1[case.form] += 1
            right_matches += sure
        else:
            misses.append(
                {"query": case.query, "expected": case.expected,
                 "got": top["id"] if top else ""}
            )  # fmt: skip
    positives = sum(total.values())
    negatives = len(cases) - positives
    return {
        "top1_accuracy": round(sum(top1.values()) / positives, 4) if positives else 0,
        "top1_correct": sum(top1.values()),
        "positives": positives,
        "by_form": {form: round(top1[form] / total[form], 4) for form in sorted(total)},
        "match_true": matched,
        "match_precision": round(right_matches / max(1, matched - false_matches), 4)
        if matched
        else 0,
        "match_recall": round(right_matches / positives, 4) if positives else 0,
        "negatives": negatives,
        "false_matches_on_negatives": false_matches,
        "misses": misses[:40],
        "wrong_matches": wrong_matches[:40],
    }


# --- files ---------------------------------------------------------------------------
def batch_csv(cases: list[Case]) -> str:
    """The batch as CSV text (the committed ``tests/data/reconcile/batch.csv``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(asdict(cases[0])), lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(c) for c in cases)
    return out.getvalue()


def write_results(report: dict[str, Any], path: Path = RESULTS) -> None:
    """Write the numbers (without the timing, so reruns give the same file)."""
    stable = {k: v for k, v in report.items() if k != "seconds"}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stable, ensure_ascii=False, indent=2) + "\n", "utf-8")


def http_sender(url: str) -> Send:
    """Send batches to the service at *url* (``http://host:port``) over HTTP."""
    import requests

    session = requests.Session()

    def send(batch: dict[str, Any]) -> dict[str, Any]:
        response = session.post(
            url.rstrip("/") + "/reconcile",
            data={"queries": json.dumps(batch, ensure_ascii=False)},
            timeout=60,
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    return send


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="", help="a running server (default: serve)")
    parser.add_argument("--write-batch", action="store_true")
    args = parser.parse_args()
    cases = build_cases()
    if args.write_batch:
        BATCH.parent.mkdir(parents=True, exist_ok=True)
        BATCH.write_text(batch_csv(cases), "utf-8")
    if args.url:
        report = measure(cases, http_sender(args.url))
    else:
        from mededkg.settings import load_config
        from webapp import create_app

        client = create_app(load_config({"query_workers": 0}, {})).test_client()

        def send(batch: dict[str, Any]) -> dict[str, Any]:
            response = client.post("/reconcile", data={"queries": json.dumps(batch)})
            answer: dict[str, Any] = response.get_json()
            return answer

        report = measure(cases, send)
    write_results(report)
    summary = {k: v for k, v in report.items() if k not in ("by_name", "with_province")}
    for key in ("by_name", "with_province"):
        summary[key] = {
            k: v for k, v in report[key].items() if k not in ("misses", "wrong_matches")
        }
    print(json.dumps(summary, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
