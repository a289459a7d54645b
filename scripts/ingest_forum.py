"""Snakemake shim: one forum source -> normalized threads (mathforge.forum.ingest)."""

from mathforge.forum.ingest import ingest_source
from mathforge.logs import job_logging

with job_logging(snakemake.log[0]):
    ingest_source(
        snakemake.params.source,
        snakemake.params.limits,
        out_path=snakemake.output.threads,
        stats_path=snakemake.output.stats,
    )
