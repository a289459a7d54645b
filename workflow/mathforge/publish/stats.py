"""Row and token statistics of a dataset's variants and splits (for the card and the manifest)."""

from __future__ import annotations

import math


def percentile(sorted_values: list[int], q: float) -> int:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def token_stats(tokens: list[int]) -> dict:
    values = sorted(tokens)
    return {
        "sum": sum(values),
        "mean": round(sum(values) / len(values), 1) if values else 0.0,
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": values[-1] if values else 0,
    }


def split_stats(tokens: list[int], problems: set[str]) -> dict:
    """Rows, distinct problems and generated-token statistics of one variant's split."""
    return {"rows": len(tokens), "problems": len(problems), "tokens": token_stats(tokens)}


def row_counts(variants: dict[str, dict[str, dict]]) -> dict[str, dict[str, int]]:
    """variant -> split -> rows, for the job log."""
    return {v: {s: entry["rows"] for s, entry in splits.items()} for v, splits in variants.items()}


def stats_markdown(stats: dict[str, dict[str, dict]]) -> list[str]:
    """The card's statistics table: one line per variant and split."""
    lines = [
        "| variant | split | rows | problems | tokens (sum) | mean | p50 | p90 | p99 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for variant, splits in stats.items():
        for split, s in splits.items():
            t = s["tokens"]
            lines.append(
                f"| {variant} | {split} | {s['rows']} | {s['problems']} | {t['sum']} | {t['mean']} "
                f"| {t['p50']} | {t['p90']} | {t['p99']} |"
            )
    return lines if len(lines) > 2 else [*lines, "| - | - | 0 | 0 | 0 | 0 | 0 | 0 | 0 |"]
