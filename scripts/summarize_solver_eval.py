"""Snakemake shim: the solver evaluation's table, TSV and plot (mathforge.solver_eval.report)."""

from mathforge.logs import job_logging
from mathforge.solver_eval.report import write_solver_summary

with job_logging(snakemake.log[0]):
    write_solver_summary(
        list(snakemake.input.summaries),
        confidence=snakemake.params.confidence,
        md_path=snakemake.output.table,
        tsv_path=snakemake.output.tsv,
        plot_path=snakemake.output.plot,
    )
