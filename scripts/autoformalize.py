"""Snakemake shim: one shard of autoformalization (mathforge.formal.stage)."""

from mathforge.formal.stage import run
from mathforge.logs import job_logging
from mathforge.params import stage_config

with job_logging(snakemake.log[0]):
    run(
        snakemake.input.problems,
        shard=int(snakemake.wildcards.shard),
        cfg=stage_config(snakemake),
        out_path=snakemake.output.formal,
        summary_path=snakemake.output.summary,
        store_path=snakemake.params.store,
        n_shards=snakemake.params.n_shards,
    )
