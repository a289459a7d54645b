"""Snakemake shim: one shard of problems -> forum answers (mathforge.problems.forum_answers)."""

from mathforge.logs import job_logging
from mathforge.params import stage_config
from mathforge.problems.forum_answers import extract_answers

with job_logging(snakemake.log[0]):
    extract_answers(
        snakemake.input.problems,
        cfg=stage_config(snakemake),
        out_path=snakemake.output.answers,
        dropped_path=snakemake.output.dropped,
        stats_path=snakemake.output.stats,
        store_path=snakemake.params.store,
    )
