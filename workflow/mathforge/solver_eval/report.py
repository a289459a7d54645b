"""summarize_solver_eval: every benchmark x model x effort x mode in one Markdown table (with
bootstrap intervals), a compact TSV for scripts, and a plot of maj@k and pass@k against k."""

from __future__ import annotations

from mathforge.evaluation.passk import table_ks
from mathforge.funnel import read_summaries
from mathforge.io import svg_figure, write_text

TSV_HEADER = "benchmark\tmodel\teffort\tmode\tmetric\tk\tvalue\tci_low\tci_high\tn_problems\tn_samples"


def _pct(metric: dict) -> str:
    ci = metric["ci"]
    interval = f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else ""
    return f"{100 * metric['value']:.1f}%{interval}"


def headline_table(summaries: list[dict], confidence: float) -> list[str]:
    md = [
        "| benchmark | model | effort | mode | problems | n | pass@1 | maj@n | pass@n | no answer | "
        "tokens / sample | code cells / sample |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        n, head = s["n_samples"], s["headline"]
        md.append(
            f"| {s['benchmark']} | {s['model']} | {s['effort']} | {s['mode']} | {s['n_problems']} | {n} | "
            f"{_pct(head['pass@1'])} | {_pct(head[f'maj@{n}'])} | {_pct(head[f'pass@{n}'])} | "
            f"{100 * s['no_answer_share']:.1f}% | {s['mean_completion_tokens']:.0f} | "
            f"{s['code_cells_per_sample']:.2f} |"
        )
    return [*md, "", f"Brackets: {100 * confidence:.0f}% bootstrap interval over problems.", ""]


def by_k_table(summaries: list[dict]) -> list[str]:
    ks = sorted({k for s in summaries for k in table_ks(s["n_samples"])})
    md = ["| benchmark | model | effort | mode | metric | " + " | ".join(f"k={k}" for k in ks) + " |",
          "|---|---|---|---|---|" + "---|" * len(ks)]  # fmt: skip
    for s in summaries:
        for metric in ("maj_at_k", "pass_at_k"):
            cells = [f"{100 * s[metric][str(k)]:.1f}%" if str(k) in s[metric] else "" for k in ks]
            label = metric.replace("_at_k", "@k")
            md.append(
                f"| {s['benchmark']} | {s['model']} | {s['effort']} | {s['mode']} | {label} | "
                + " | ".join(cells)
                + " |"
            )
    return [*md, ""]


def tsv_lines(summaries: list[dict]) -> list[str]:
    lines = [TSV_HEADER]
    for s in summaries:
        key = f"{s['benchmark']}\t{s['model']}\t{s['effort']}\t{s['mode']}"
        size = f"{s['n_problems']}\t{s['n_samples']}"
        for metric, prefix in (("maj_at_k", "maj"), ("pass_at_k", "pass")):
            for k, value in s[metric].items():
                ci = (s["headline"].get(f"{prefix}@{k}") or {}).get("ci") or ["", ""]
                lines.append(f"{key}\t{prefix}\t{k}\t{value}\t{ci[0]}\t{ci[1]}\t{size}")
    return lines


def summarize_solver_eval(
    summaries: list[dict], confidence: float, md_path: str, tsv_path: str, plot_path: str
) -> None:
    md = ["# Solver evaluation", "",
          "pass@1: mean correctness over the n samples of each problem; maj@k: the equivalence-aware "
          "majority vote over k of them (expected over k-subsets, ties split); pass@k: unbiased "
          "estimator. Samples judged against the gold answer (symbolic, then the LLM judge if on).", "",
          "## Headline", "", *headline_table(summaries, confidence),
          "## Accuracy against k", "", *by_k_table(summaries)]  # fmt: skip
    write_text("\n".join(md) + "\n", md_path)
    write_text("\n".join(tsv_lines(summaries)) + "\n", tsv_path)
    _plot(summaries, plot_path)


def _plot(summaries: list[dict], path: str) -> None:
    with svg_figure(path, figsize=(7, 4.5)) as (_fig, ax):
        for i, s in enumerate(summaries):
            label = f"{s['benchmark']} / {s['model']} / {s['effort']} / {s['mode']}"
            color = f"C{i % 10}"
            for metric, style in (("maj_at_k", "-"), ("pass_at_k", "--")):
                ks = [int(k) for k in s[metric]]
                name = metric.replace("_at_k", "@k")
                ax.plot(ks, [100 * s[metric][str(k)] for k in ks], style, color=color, marker="o",
                        markersize=3, label=f"{label} {name}")  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k (samples)")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        if summaries:
            ax.legend(fontsize=6)


def write_solver_summary(
    summary_paths: list[str], confidence: float, md_path: str, tsv_path: str, plot_path: str
) -> None:
    summaries = [s.details() for s in read_summaries(summary_paths)]
    summarize_solver_eval(summaries, confidence, md_path, tsv_path, plot_path)
