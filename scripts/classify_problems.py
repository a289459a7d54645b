"""Snakemake shim: one shard of problems -> classes and routes (mathforge.problems.classify)."""

from mathforge.logs import job_logging
from mathforge.params import stage_config
from mathforge.problems.classify import classify_problems

with job_logging(snakemake.log[0]):
    classify_problems(
        snakemake.input.problems,
        cfg=stage_config(snakemake),
        out_path=snakemake.output.classified,
        proofs_path=snakemake.output.proofs,
        dropped_path=snakemake.output.dropped,
        stats_path=snakemake.output.stats,
        store_path=snakemake.params.store,
    )
