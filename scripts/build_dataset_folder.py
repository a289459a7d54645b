"""Snakemake shim: SFT shards -> a Hub-ready dataset folder (mathforge.publish.folder)."""

from mathforge.logs import job_logging
from mathforge.publish.folder import build_dataset_folder

with job_logging(snakemake.log[0]):
    build_dataset_folder(
        snakemake.wildcards.kind,
        snakemake.input.data,
        snakemake.input.manifest,
        publish=snakemake.params.publish,
        dataset=snakemake.params.dataset,
        out_dir=snakemake.output.folder,
        card_path=snakemake.input.get("card"),
    )
