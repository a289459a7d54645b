"""Snakemake shim: one shard of problems -> language, route, translation (mathforge.problems.translate)."""

from mathforge.logs import job_logging
from mathforge.params import stage_config
from mathforge.problems.translate import detect_languages

with job_logging(snakemake.log[0]):
    detect_languages(
        snakemake.input.problems,
        cfg=stage_config(snakemake),
        out_path=snakemake.output.problems,
        dropped_path=snakemake.output.dropped,
        stats_path=snakemake.output.stats,
        store_path=snakemake.params.store,
    )
