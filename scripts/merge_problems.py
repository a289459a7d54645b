"""Snakemake shim: all sources and shards -> the problems artifacts (mathforge.problems.merge)."""

from mathforge.logs import job_logging
from mathforge.problems.merge import merge_problems

with job_logging(snakemake.log[0]):
    merge_problems(
        list(snakemake.input.answers),
        list(snakemake.input.proofs),
        list(snakemake.input.dropped),
        out_problems=snakemake.output.problems,
        out_proofs=snakemake.output.proofs,
        out_dropped=snakemake.output.dropped,
        out_summary=snakemake.output.summary,
    )
