"""Snakemake shim: one solutions shard's SFT rows, audited (mathforge.sft.part)."""

from mathforge.logs import job_logging
from mathforge.params import stage_config
from mathforge.sft.part import run_part

with job_logging(snakemake.log[0]):
    run_part(
        snakemake.input.final_judged,
        snakemake.input.majority,
        cfg=stage_config(snakemake),
        decontam_set=snakemake.input.decontam_set,
        decontam_audit=snakemake.input.decontam_audit,
        part_path=snakemake.output.part,
        hygiene_path=snakemake.output.hygiene,
        summary_path=snakemake.output.summary,
        forum_cot=list(snakemake.input.forum_cot),
    )
