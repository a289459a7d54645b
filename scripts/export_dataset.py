"""Snakemake shim: a dataset folder -> trainer JSONL in one format (mathforge.publish.exports)."""

from mathforge.logs import job_logging
from mathforge.publish.exports import export_dataset

with job_logging(snakemake.log[0]):
    export_dataset(
        snakemake.input.folder,
        snakemake.wildcards.fmt,
        snakemake.output.export,
        tokenizer_path=snakemake.params.tokenizer,
    )
