"""Snakemake shim: one model on one answer benchmark at one effort and mode (mathforge.solver_eval.stage)."""

from mathforge.logs import job_logging
from mathforge.params import stage_config
from mathforge.solver_eval.stage import run

with job_logging(snakemake.log[0]):
    run(
        snakemake.wildcards.benchmark,
        snakemake.wildcards.model,
        snakemake.wildcards.effort,
        snakemake.wildcards.mode,
        cfg=stage_config(snakemake),
        out_path=snakemake.output.results,
        summary_path=snakemake.output.summary,
        store_path=snakemake.params.store,
        judge_store=snakemake.params.judge_store,
    )
