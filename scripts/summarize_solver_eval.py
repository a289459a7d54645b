"""Snakemake shim: the solver evaluation's table, TSV and plot (mathforge.evaluation.solver_report)."""

from mathforge.evaluation.solver_report import write_solver_summary
from mathforge.logs import job_logging

with job_logging(snakemake.log[0]):
    write_solver_summary(
        list(snakemake.input.summaries),
        confidence=snakemake.params.confidence,
        md_path=snakemake.output.table,
        tsv_path=snakemake.output.tsv,
        plot_path=snakemake.output.plot,
    )
