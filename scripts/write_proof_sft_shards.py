"""Snakemake shim: verified proof conversations as SFT shards (mathforge.sft.proofs)."""

from mathforge.logs import job_logging
from mathforge.params import stage_config
from mathforge.sft.proofs import write_proof_sft_shards

with job_logging(snakemake.log[0]):
    write_proof_sft_shards(
        list(snakemake.input.proofs),
        cfg=stage_config(snakemake),
        out_dir=snakemake.output.data,
        manifest_path=snakemake.output.manifest,
        summary_path=snakemake.output.summary,
    )
