"""Snakemake shim: one shard's forum answers rewritten into judged solutions (answers.forum_cot)."""

from mathforge.answers.forum_cot import rewrite_forum_solutions
from mathforge.logs import job_logging
from mathforge.params import stage_config

with job_logging(snakemake.log[0]):
    rewrite_forum_solutions(
        snakemake.input.majority,
        snakemake.input.problems,
        cfg=stage_config(snakemake),
        out_path=snakemake.output.rewritten,
        summary_path=snakemake.output.summary,
        store_path=snakemake.params.store,
        judge_store_path=snakemake.params.judge_store,
    )
