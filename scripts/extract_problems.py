"""Snakemake shim: one shard of threads -> extracted problems (mathforge.problems.stage)."""

from mathforge.logs import job_logging
from mathforge.params import stage_config
from mathforge.problems.stage import run

with job_logging(snakemake.log[0]):
    run(
        snakemake.input.threads,
        shard=int(snakemake.wildcards.shard),
        n_shards=snakemake.params.n_shards,
        cfg=stage_config(snakemake),
        out_path=snakemake.output.problems,
        dropped_path=snakemake.output.dropped,
        stats_path=snakemake.output.stats,
        store_path=snakemake.params.store,
    )
