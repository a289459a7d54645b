# eval: pass@k of each configured prover model on each formal benchmark (with and without
# self-correction turns), then one table and plot for the report.


rule evaluate_prover:
    input:
        benchmark=eval_benchmark_file,
        prompts=proof_prompts(),
    output:
        results=f"{P.results}/eval/{{benchmark}}/{{model}}/results.parquet",
        summary=f"{P.results}/eval/{{benchmark}}/{{model}}/results.summary.json",
    params:
        # only what this benchmark x model depends on: adding a benchmark or a model reruns nothing
        # else. Canonical JSON: Snakemake compares params by repr, so a reordered mapping (an entry
        # written out vs the default `main`) would rerun the job.
        eval=lambda wc: eval_settings(wc, "benchmarks", {k: config["eval"][k] for k in ("n_samples", "max_turns", "sampling")}),
        model=lambda wc: canonical_json(eval_model(wc)),
        models=evaluated_models("proofs"),
        proofs=declare(config, *[f"proofs.{k}" for k in PROVER_LOOP_KEYS])["proofs"],
        lean=lean_params(),
        prompts_dir=Untracked(config["prompts_dir"]),
        store=f"{P.cache}/evaluate_prover/{{benchmark}}/{{model}}.jsonl",
    wildcard_constraints:
        benchmark=r"[A-Za-z0-9_.-]+",
        model=r"[A-Za-z0-9_.-]+",
    log:
        f"{P.logs}/evaluate_prover/{{benchmark}}/{{model}}.log",
    benchmark:
        f"{P.bench}/evaluate_prover/{{benchmark}}/{{model}}.tsv"
    resources:
        mem_mb=eval_resource("mem_mb"),
        runtime=eval_resource("runtime"),
        gpu=eval_resource("gpu"),
    conda:
        "../envs/lean.yaml"
    script:
        "../scripts/evaluate_prover.py"


rule summarize_eval:
    input:
        summaries=eval_summaries(),
    output:
        table=report(
            f"{P.results}/eval/summary.md",
            caption="../workflow/report/eval_table.rst",
            category="Evaluation",
        ),
        tsv=f"{P.results}/eval/summary.tsv",
        plot=report(
            f"{P.results}/eval/pass_at_k.svg",
            caption="../workflow/report/eval_plot.rst",
            category="Evaluation",
        ),
    log:
        f"{P.logs}/summarize_eval.log",
    benchmark:
        f"{P.bench}/summarize_eval.tsv"
    resources:
        **family_resources("cpu"),
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/summarize_eval.py"
