"""Snakemake shim: vote, repair the expected answer and re-judge one shard (mathforge.judging.stage)."""

from mathforge.judging.stage import majority_stage
from mathforge.logs import job_logging
from mathforge.params import stage_config

with job_logging(snakemake.log[0]):
    majority_stage(
        snakemake.input.judged,
        cfg=stage_config(snakemake),
        out_majority=snakemake.output.majority,
        out_final=snakemake.output.final_judged,
        summary_path=snakemake.output.summary,
        store_path=snakemake.params.store,
        rewrite_votes=list(snakemake.input.rewrite_votes),
    )
