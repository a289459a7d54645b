"""Snakemake shim: judge one shard of solutions against the forum answer (mathforge.judging.stage)."""

from mathforge.judging.stage import run
from mathforge.logs import job_logging
from mathforge.params import stage_config

with job_logging(snakemake.log[0]):
    run(
        snakemake.input.solutions,
        cfg=stage_config(snakemake),
        out_path=snakemake.output.judged,
        summary_path=snakemake.output.summary,
        store_path=snakemake.params.store,
    )
