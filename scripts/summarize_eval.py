"""Snakemake shim: the evaluation table and plot (mathforge.proofs.evaluate)."""

from mathforge.logs import job_logging
from mathforge.proofs.evaluate import write_eval_summary

with job_logging(snakemake.log[0]):
    write_eval_summary(
        list(snakemake.input.summaries),
        md_path=snakemake.output.table,
        tsv_path=snakemake.output.tsv,
        plot_path=snakemake.output.plot,
    )
