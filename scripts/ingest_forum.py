"""Snakemake shim: one forum source -> normalized threads (mathforge.forum.stage)."""

from mathforge.forum.stage import run
from mathforge.logs import job_logging

with job_logging(snakemake.log[0]):
    run(
        snakemake.params.source,
        snakemake.params.limits,
        out_path=snakemake.output.threads,
        stats_path=snakemake.output.stats,
    )
