"""Snakemake shim: the run's funnel for the report (mathforge.run_report)."""

from mathforge.logs import job_logging
from mathforge.run_report import write_run_report

with job_logging(snakemake.log[0]):
    write_run_report(list(snakemake.input.summaries), snakemake.output.table, snakemake.output.plot)
