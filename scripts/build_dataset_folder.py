"""Snakemake shim: SFT shards (or the formal statements) -> a Hub-ready dataset folder
(mathforge.publish.stage, mathforge.publish.statements)."""

from mathforge.logs import job_logging
from mathforge.publish.stage import run
from mathforge.publish.statements import build_statements_folder

with job_logging(snakemake.log[0]):
    if snakemake.wildcards.kind == "statements":
        build_statements_folder(
            list(snakemake.input.formal),
            publish=snakemake.params.publish,
            dataset=snakemake.params.dataset,
            out_dir=snakemake.output.folder,
        )
    else:
        run(
            snakemake.wildcards.kind,
            snakemake.input.data,
            snakemake.input.manifest,
            publish=snakemake.params.publish,
            dataset=snakemake.params.dataset,
            out_dir=snakemake.output.folder,
            card_path=snakemake.input.get("card"),
            summary_path=snakemake.input.get("summary"),
        )
