"""Snakemake shim: one shard of the prover (mathforge.proofs.stage)."""

from mathforge.logs import job_logging
from mathforge.params import stage_config
from mathforge.proofs.stage import run

with job_logging(snakemake.log[0]):
    run(
        list(snakemake.input.formal),
        shard=int(snakemake.wildcards.shard),
        cfg=stage_config(snakemake),
        out_path=snakemake.output.proofs,
        summary_path=snakemake.output.summary,
        store_path=snakemake.params.store,
        statement_table=snakemake.params.statement_table,
    )
