"""evaluate_prover: pass@k of a model on a formal benchmark (miniF2F, ProofNet), with and without
self-correction.

Every problem gets `n_samples` independent attempts of up to `max_turns` turns each (no early
stop: pass@k needs all n). An attempt's first verified turn says at which turn budget it counts
as a success, so one run gives pass@k for every k <= n at every budget t <= max_turns; t = 1 is
pass@k without self-correction. summarize_eval gathers every benchmark x model into a table and
a plot for the report.
"""

from __future__ import annotations

import logging

from mathforge.errors import InputError
from mathforge.evaluation.models import model_inference
from mathforge.evaluation.passk import mean_pass_at_k, table_ks
from mathforge.funnel import StepStats, read_summaries, write_step
from mathforge.inference.endpoints import model_identity
from mathforge.io import read_table_records, svg_figure, write_text
from mathforge.proofs.stage import PROOF_SCHEMA, attempt_row, run_prover, statement_from_record

log = logging.getLogger(__name__)


def load_benchmark(bench: dict, default_header: str) -> list[dict]:
    rows = []
    for where, record in read_table_records(bench["path"]):
        if bench["split"] is not None and record.get("split") != bench["split"]:
            continue
        rows.append(statement_from_record(record, bench["path"], where, default_header, bench["name"], False))
        if bench["limit"] is not None and len(rows) >= bench["limit"]:
            break
    names = [r["statement_id"] for r in rows]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            bench["path"], None, f"benchmark {bench['name']!r}: problem names repeat: {repeated[:5]}"
        )
    return rows


def pass_at_k_table(verified_turns: dict[str, list[int | None]], n: int, max_turns: int) -> dict:
    """{"turns=t": {"k": mean pass@k}} for every budget t and every k <= n."""
    table = {}
    for t in range(1, max_turns + 1):
        counts = [(n, sum(v is not None and v <= t for v in turns)) for turns in verified_turns.values()]
        table[f"turns={t}"] = {str(k): round(mean_pass_at_k(counts, k), 6) for k in range(1, n + 1)}
    return table


def evaluate_stage(
    bench_name: str, model_name: str, cfg: dict, out_path: str, summary_path: str, store_path: str
) -> StepStats:
    ev = cfg["eval"]
    bench = next(b for b in ev["benchmarks"] if b["name"] == bench_name)
    statements = load_benchmark(bench, cfg["lean"]["header"])
    inference_cfg = model_inference(cfg, model_name)
    stage = {**cfg["proofs"], "max_turns": ev["max_turns"], "sampling": ev["sampling"]}
    stats = StepStats(step="evaluate_prover", n_in=len(statements))
    attempts, counters = {}, {}
    if statements:
        attempts, counters = run_prover(
            statements, cfg, stage, inference_cfg, store_path, ev["n_samples"], stop_at_first=False
        )
    provenance = {
        "model": model_identity(inference_cfg), "prompt_name": stage["prompts"]["prove"],
        "prompt_hash": None, "sampling": None,
    }  # fmt: skip
    rows = [attempt_row(s, a, stage, provenance) for s in statements for a in attempts[s["statement_id"]]]
    verified_turns = {
        s["statement_id"]: [a.verified_turn for a in attempts[s["statement_id"]]] for s in statements
    }
    stats.n_out = sum(any(v is not None for v in turns) for turns in verified_turns.values())
    stats.notes.update(
        {
            "benchmark": bench_name, "model": model_name, "model_identity": model_identity(inference_cfg),
            "n_problems": len(statements), "n_samples": ev["n_samples"], "max_turns": ev["max_turns"],
            "pass_at_k": pass_at_k_table(verified_turns, ev["n_samples"], ev["max_turns"]),
            "per_problem": verified_turns, **counters,
        }
    )  # fmt: skip
    return write_step(stats, summary_path, (rows, PROOF_SCHEMA, out_path))


def summarize_eval(summaries: list[dict], md_path: str, tsv_path: str, plot_path: str) -> None:
    """A Markdown table and a TSV of pass@k (turn 1 and the full turn budget) per benchmark x
    model, and a plot of pass@k against k."""
    tsv = ["benchmark\tmodel\tturns\tk\tpass_at_k\tn_problems"]
    md = ["# Prover evaluation", "", "pass@k (unbiased estimator) over n attempts per problem; "
          "turns=1 is without self-correction.", ""]  # fmt: skip
    for s in summaries:
        n, last = s["n_samples"], s["max_turns"]
        budgets = sorted({1, last})
        md += [f"## {s['benchmark']} — {s['model']} ({s['n_problems']} problems, n={n})", ""]
        md.append("| turns | " + " | ".join(f"pass@{k}" for k in table_ks(n)) + " |")
        md.append("|---|" + "---|" * len(table_ks(n)))
        for t in budgets:
            row = s["pass_at_k"][f"turns={t}"]
            md.append(f"| {t} | " + " | ".join(f"{100 * row[str(k)]:.1f}%" for k in table_ks(n)) + " |")
        md.append("")
        for t in range(1, last + 1):
            for k, value in s["pass_at_k"][f"turns={t}"].items():
                tsv.append(f"{s['benchmark']}\t{s['model']}\t{t}\t{k}\t{value}\t{s['n_problems']}")
    write_text("\n".join(md) + "\n", md_path)
    write_text("\n".join(tsv) + "\n", tsv_path)
    _plot(summaries, plot_path)


def _plot(summaries: list[dict], path: str) -> None:
    with svg_figure(path, figsize=(6, 4)) as (_fig, ax):
        for s in summaries:
            for t in sorted({1, s["max_turns"]}):
                row = s["pass_at_k"][f"turns={t}"]
                ks = [int(k) for k in row]
                ax.plot(ks, [100 * row[str(k)] for k in ks], marker="o",
                        label=f"{s['benchmark']} / {s['model']} (turns={t})")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k (attempts)")
        ax.set_ylabel("pass@k (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        if summaries:
            ax.legend(fontsize=7)


def write_eval_summary(summary_paths: list[str], md_path: str, tsv_path: str, plot_path: str) -> None:
    summaries = [s.details() for s in read_summaries(summary_paths)]
    summarize_eval(summaries, md_path, tsv_path, plot_path)
