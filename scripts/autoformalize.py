"""Snakemake shim: one shard of autoformalization (mathforge.formal.stage)."""

from mathforge.formal.stage import run
from mathforge.logs import job_logging

with job_logging(snakemake.log[0]):
    run(
        snakemake.input.problems,
        shard=int(snakemake.wildcards.shard),
        cfg=snakemake.config,
        out_path=snakemake.output.formal,
        summary_path=snakemake.output.summary,
        store_path=snakemake.params.store,
    )
