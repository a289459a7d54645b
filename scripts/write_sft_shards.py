"""Snakemake shim: the SFT shards and the dataset card, assembled from the parts (mathforge.sft.stage)."""

from mathforge.logs import job_logging
from mathforge.params import stage_config
from mathforge.sft.stage import run

with job_logging(snakemake.log[0]):
    run(
        list(snakemake.input.parts),
        list(snakemake.input.majority),
        list(snakemake.input.summaries),
        cfg=stage_config(snakemake),
        out_dir=snakemake.output.data,
        manifest_path=snakemake.output.manifest,
        card_path=snakemake.output.card,
        hygiene_path=snakemake.output.hygiene,
        summary_path=snakemake.output.summary,
    )
