"""Compare ``bench/run.py`` results of two versions of the code, run interleaved.

    python bench/compare.py before=out-b1,out-b2 after=out-a1,out-a2

Each argument is ``label=folder[,folder…]``: the ``results.json`` files ``bench/run.py
--out folder`` wrote, one per round (or the JSON files themselves). Run the rounds
interleaved (A B A B) on the same machine with the same arguments, so load that comes
and goes hits both versions; the table then gives, per figure, the median over the
rounds of each version and the ratio of the last label to the first. ``oxigraph serve``
and the engine are measured in every round too and are the same program for both
versions: their ratios show the noise, and the figures divided by them within each
round (``q/s ÷ oxigraph``, ``HTTP ÷ engine``) are the ones that compare the versions.

Prints a Markdown report (build steps, endpoint latency per query, throughput).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any


def read_rounds(spec: str) -> tuple[str, list[dict[str, Any]]]:
    """``label=dir1,dir2`` → the label and each round's ``results.json``."""
    label, _, folders = spec.partition("=")
    if not folders:
        raise SystemExit(f"expected label=folder[,folder…], got {spec!r}")
    paths = [Path(folder) for folder in folders.split(",")]
    rounds = [
        json.loads(
            (path if path.is_file() else path / "results.json").read_text(
                encoding="utf-8"
            )
        )
        for path in paths
    ]
    return label, rounds


def figures(result: dict[str, Any]) -> dict[tuple[str, ...], float]:
    """Every figure of one run, keyed by (size, section, name…)."""
    out: dict[tuple[str, ...], float] = {}
    for size in result["sizes"]:
        name = str(size["size"])
        for step in size["build"].get("steps", []):
            out[(name, "build s", step["step"])] = step["seconds"]
        for row in size["latency"]:
            if row.get("status") == 200:
                out[(name, "HTTP ms", row["query"])] = row["http_ms"]
                out[(name, "engine ms", row["query"])] = row["engine_ms"]
                if row["engine_ms"]:
                    out[(name, "HTTP ÷ engine", row["query"])] = round(
                        row["http_ms"] / row["engine_ms"], 3
                    )
        for row in size["throughput"]:
            point = f"{row['mix']} × {row['clients']}"
            out[(name, "mededkg q/s", point)] = row["mededkg"]["qps"]
            out[(name, "oxigraph q/s", point)] = row["oxigraph"]["qps"]
            if row["oxigraph"]["qps"]:
                out[(name, "q/s ÷ oxigraph", point)] = round(
                    row["mededkg"]["qps"] / row["oxigraph"]["qps"], 3
                )
    return out


def medians(rounds: list[dict[str, Any]]) -> dict[tuple[str, ...], float]:
    """The median over *rounds* of every figure present in all of them."""
    per_round = [figures(r) for r in rounds]
    keys = set.intersection(*(set(f) for f in per_round))
    return {k: statistics.median(f[k] for f in per_round) for k in keys}


def report(specs: list[str]) -> str:
    """The Markdown comparison of the labelled rounds."""
    labelled = [read_rounds(spec) for spec in specs]
    labels = [label for label, _ in labelled]
    tables = [medians(rounds) for _, rounds in labelled]
    keys = sorted(set.intersection(*(set(t) for t in tables)))
    header = "| size | figure | name | " + " | ".join(labels) + " | ratio |"
    lines = [
        f"Rounds per version: {', '.join(f'{lb} {len(r)}' for lb, r in labelled)} "
        f"(medians; ratio = {labels[-1]} / {labels[0]}).",
        "",
        header,
        "|" + "---|" * (header.count("|") - 1),
    ]
    for key in keys:
        values = [t[key] for t in tables]
        ratio = values[-1] / values[0] if values[0] else float("nan")
        cells = " | ".join(f"{v:g}" for v in values)
        lines.append(f"| {' | '.join(key)} | {cells} | {ratio:.2f} |")
    lines += ["", "Geometric mean of the ratios, per figure:", ""]
    groups: dict[tuple[str, str], list[float]] = {}
    for key in keys:
        if tables[0][key] and tables[-1][key]:
            groups.setdefault(key[:2], []).append(tables[-1][key] / tables[0][key])
    for (size, figure), ratios in sorted(groups.items()):
        mean = statistics.geometric_mean(ratios)
        lines.append(
            f"- {size} {figure}: {mean:.2f} (from {min(ratios):.2f} to "
            f"{max(ratios):.2f}, {len(ratios)} figures)"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(report(args), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
