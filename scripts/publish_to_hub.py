"""Snakemake shim: a dataset folder -> a Hugging Face Hub dataset repo (mathforge.publish.hub)."""

from mathforge.logs import job_logging
from mathforge.publish.hub import push_folder

with job_logging(snakemake.log[0]):
    push_folder(snakemake.input.folder, snakemake.params.hub, snakemake.output.receipt)
