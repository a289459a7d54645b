"""Snakemake shim: the run's funnel and statistics for the report (mathforge.run_report)."""

from mathforge.logs import job_logging
from mathforge.run_report import write_run_report

with job_logging(snakemake.log[0]):
    out = snakemake.output
    write_run_report(
        list(snakemake.input.summaries),
        out.table,
        out.plot,
        out.statistics,
        out.solve_rates,
        out.problem_types,
    )
