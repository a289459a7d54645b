"""Snakemake shim: one shard's forum answers rewritten before the vote (forum_cot.count_as_votes)."""

from mathforge.forum_cot.stage import rewrite_forum_votes
from mathforge.logs import job_logging
from mathforge.params import stage_config

with job_logging(snakemake.log[0]):
    rewrite_forum_votes(
        snakemake.input.solutions,
        snakemake.input.problems,
        cfg=stage_config(snakemake),
        out_path=snakemake.output.rewrites,
        summary_path=snakemake.output.summary,
        store_path=snakemake.params.store,
    )
