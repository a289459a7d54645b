"""Snakemake shim: one source's benchmark decontamination + semantic dedup (mathforge.decontam.stage)."""

from mathforge.decontam.stage import run
from mathforge.logs import job_logging
from mathforge.params import stage_config

with job_logging(snakemake.log[0]):
    run(
        list(snakemake.input.problems),
        target=snakemake.wildcards.target,
        cfg=stage_config(snakemake),
        out_set=snakemake.output.set,
        out_audit=snakemake.output.audit,
        out_summary=snakemake.output.summary,
        out_candidates=snakemake.output.candidates,
        out_vectors=snakemake.output.vectors,
        store_path=snakemake.params.store,
        embedding_cache=snakemake.params.embedding_cache,
        earlier_sets=list(snakemake.input.earlier_sets),
        earlier_vectors=list(snakemake.input.earlier_vectors),
    )
