"""Snakemake shim: after the vote, one shard's rewrites kept or not (forum_cot.count_as_votes)."""

from mathforge.forum_cot.stage import judge_forum_votes
from mathforge.logs import job_logging
from mathforge.params import stage_config

with job_logging(snakemake.log[0]):
    judge_forum_votes(
        snakemake.input.rewrites,
        snakemake.input.rewrites_summary,
        snakemake.input.majority,
        cfg=stage_config(snakemake),
        out_path=snakemake.output.rewritten,
        summary_path=snakemake.output.summary,
        judge_store_path=snakemake.params.judge_store,
    )
