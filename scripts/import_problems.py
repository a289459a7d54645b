"""Snakemake shim: a bring-your-own problem table -> one shard of problems (mathforge.problems.table)."""

from mathforge.logs import job_logging
from mathforge.problems.table import import_problems

with job_logging(snakemake.log[0]):
    import_problems(
        snakemake.params.source,
        shard=int(snakemake.wildcards.shard),
        n_shards=snakemake.params.n_shards,
        out_path=snakemake.output.problems,
        dropped_path=snakemake.output.dropped,
        stats_path=snakemake.output.stats,
    )
