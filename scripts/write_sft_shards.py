"""Snakemake shim: SFT shards and the dataset card (mathforge.sft.stage)."""

from mathforge.logs import job_logging
from mathforge.params import stage_config
from mathforge.sft.stage import run

with job_logging(snakemake.log[0]):
    run(
        list(snakemake.input.final_judged),
        list(snakemake.input.majority),
        list(snakemake.input.summaries),
        cfg=stage_config(snakemake),
        out_dir=snakemake.output.data,
        manifest_path=snakemake.output.manifest,
        card_path=snakemake.output.card,
        decontam_sets=list(snakemake.input.decontam_sets),
        decontam_audits=list(snakemake.input.decontam_audits),
        hygiene_path=snakemake.output.hygiene,
        summary_path=snakemake.output.summary,
        forum_cot=list(snakemake.input.forum_cot),
    )
