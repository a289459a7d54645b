"""Snakemake shim: pass@k of one model on one formal benchmark (mathforge.proofs.evaluate)."""

from mathforge.logs import job_logging
from mathforge.params import stage_config
from mathforge.proofs.evaluate import evaluate_stage

with job_logging(snakemake.log[0]):
    evaluate_stage(
        snakemake.wildcards.benchmark,
        snakemake.wildcards.model,
        cfg=stage_config(snakemake),
        out_path=snakemake.output.results,
        summary_path=snakemake.output.summary,
        store_path=snakemake.params.store,
    )
