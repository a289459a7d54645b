"""Snakemake shim: SFT shards and the dataset card (mathforge.sft.shards)."""

from mathforge.logs import job_logging
from mathforge.params import stage_config
from mathforge.sft.shards import write_sft_shards

with job_logging(snakemake.log[0]):
    write_sft_shards(
        list(snakemake.input.final_judged),
        list(snakemake.input.majority),
        summaries={
            "problems": [snakemake.input.problem_summary],
            "decontam": [snakemake.input.decontam_summary],
            "solutions": list(snakemake.input.solution_summaries),
            "judge": list(snakemake.input.judge_summaries),
            "majority": list(snakemake.input.majority_summaries),
            "forum_cot": list(snakemake.input.forum_cot_summaries),
        },
        cfg=stage_config(snakemake),
        out_dir=snakemake.output.data,
        manifest_path=snakemake.output.manifest,
        card_path=snakemake.output.card,
        decontam_set=snakemake.input.decontam_set,
        decontam_audit=snakemake.input.decontam_audit,
        hygiene_path=snakemake.output.hygiene,
        forum_cot=list(snakemake.input.forum_cot),
    )
