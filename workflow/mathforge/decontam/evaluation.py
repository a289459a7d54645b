"""A hard contamination test set built at run time from benchmark files (never stored in the repo),
and recall/precision of a decontamination decision on it.

Positives, each tied to the benchmark item it copies:
- verbatim: the item itself;
- wrapped: the item inside a forum post, after another (clean) problem and some chatter;
- latex: the item with formatting rewritten ($ delimiters, \\dfrac, \\left/\\right, spacing,
  thousands separators) — same problem, different bytes;
- reworded: real rewordings written by hand (tests/data/decontam/rewordings.jsonl).
Negatives: problems of the same styles that are in no benchmark (hand-written, plus CHAMP).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from mathforge.benchmarks import BenchmarkItem, benchmark_spec, load_benchmark
from mathforge.errors import ConfigError

ANSWER_BENCHMARKS = {
    "math500": "problem",
    "gsm8k_test": "question",
    "aime24": "problem",
    "aime25": "problem",
    "amc": "problem",
    "olympiad_bench": "problem",
}

CHATTER = [
    ("Hi everyone, two problems from my practice set.\n1) {other}\n2) {item}\nAny hints appreciated!"),
    ("I've been stuck on this for a while. {item}\n\nAlso unrelated: {other}\nThanks in advance."),
    ("Source: a mock contest our club ran last week.\n\n{other}\n\nAnd the one I care about:\n{item}"),
    (
        "Can someone check my approach? The problem is: {item} I tried induction but got nowhere. "
        "(Bonus question from the same sheet: {other})"
    ),
]


@dataclass(frozen=True)
class Example:
    text: str
    contaminated: bool
    kind: str
    benchmark: str | None = None
    item_id: str | None = None


def benchmark_specs(benchmarks_dir: Path) -> list[dict]:
    return [
        benchmark_spec(name, field, path=str(benchmarks_dir / f"{name}.jsonl"), applies_to=["answers"])
        for name, field in ANSWER_BENCHMARKS.items()
    ]


def latex_rewrite(text: str, rng: random.Random) -> str:
    """Formatting-only edits that keep the problem identical."""
    out = text
    out = re.sub(r"\\frac", lambda _m: rng.choice([r"\dfrac", r"\tfrac", r"\frac"]), out)
    out = out.replace("(", r"\left(").replace(")", r"\right)") if "$" in out and rng.random() < 0.5 else out
    out = re.sub(r"(?<![\d,.])(\d)(\d{3})(?![\d,.])", r"\1,\2", out)  # 1000 -> 1,000
    out = re.sub(r"\$(?!\$)", lambda _m: rng.choice(["$", "$ ", "$\\displaystyle "]), out, count=4)
    out = re.sub(r" +", lambda _m: rng.choice([" ", "  "]), out)
    return out if out != text else "  " + text.replace(" ", "  ", 3) + " "


def build_examples(
    benchmarks_dir: Path, rewordings: Path, negatives: Path, per_kind: int = 100, seed: int = 0
) -> tuple[list[Example], list[BenchmarkItem]]:
    """(examples, the benchmark index they are checked against)."""
    rng = random.Random(seed)
    index: list[BenchmarkItem] = []
    for spec in benchmark_specs(benchmarks_dir):
        index.extend(load_benchmark(spec))
    by_key = {(i.benchmark, int(i.item_id.split()[-1]) - 1): i for i in index}  # "line N" -> N-1
    negative_rows = [json.loads(line) for line in negatives.read_text().splitlines() if line.strip()]
    clean = [r["problem"] for r in negative_rows]
    champ = benchmark_spec(
        "champ", "_text", package="champ_dataset", path="dataset_files/v0.json", records="problems"
    )
    with contextlib.suppress(ConfigError):  # CHAMP is an optional extra source of negatives
        clean += [c.text for c in load_benchmark(champ)]
    examples = [Example(text, False, "negative") for text in clean]
    picks = rng.sample(index, min(len(index), 3 * per_kind))
    for n, item in enumerate(picks):
        if n < per_kind:
            examples.append(Example(item.text, True, "verbatim", item.benchmark, item.item_id))
        elif n < 2 * per_kind:
            template = rng.choice(CHATTER)
            text = template.format(item=item.text, other=rng.choice(clean))
            examples.append(Example(text, True, "wrapped", item.benchmark, item.item_id))
        else:
            examples.append(
                Example(latex_rewrite(item.text, rng), True, "latex", item.benchmark, item.item_id)
            )
    for line in rewordings.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            item = by_key[(r["benchmark"], int(r["index"]))]
            examples.append(Example(r["reworded"], True, "reworded", item.benchmark, item.item_id))
    return examples, index


def score(examples: list[Example], flagged: list[bool]) -> dict:
    """Recall, precision and per-kind recall of a contamination decision."""
    tp = sum(e.contaminated and f for e, f in zip(examples, flagged, strict=True))
    fp = sum((not e.contaminated) and f for e, f in zip(examples, flagged, strict=True))
    fn = sum(e.contaminated and not f for e, f in zip(examples, flagged, strict=True))
    kinds: dict[str, list[int]] = {}
    for e, f in zip(examples, flagged, strict=True):
        hit = kinds.setdefault(e.kind, [0, 0])
        hit[0] += int(f == e.contaminated)
        hit[1] += 1
    return {
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "correct_by_kind": {k: f"{v[0]}/{v[1]}" for k, v in sorted(kinds.items())},
    }
