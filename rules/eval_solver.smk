# eval (solvers): pass@1, maj@k and pass@k of each model on each answer benchmark, per reasoning
# effort and tool mode, with the solution machinery and the answers judge; one table and plot.


rule evaluate_solver:
    input:
        benchmark=answer_benchmark_files,
        prompts=solution_prompts(),
        judge_prompts=solver_judge_prompts(),
    output:
        results=f"{P.results}/eval/solver/{{benchmark}}/{{model}}/{{effort}}/{{mode}}/results.parquet",
        summary=f"{P.results}/eval/solver/{{benchmark}}/{{model}}/{{effort}}/{{mode}}/results.summary.json",
    params:
        # only what this benchmark x model x effort x mode depends on: adding any of them reruns
        # nothing else; raising n reruns the job, which sends only the new samples. Canonical
        # JSON: Snakemake compares params by repr, so a reordered mapping would rerun the job.
        eval=lambda wc: eval_settings(wc, "answer_benchmarks", {"solver": solver_params()}),
        model_identity=lambda wc: model_identity(solver_model(wc)),
        models=evaluated_models("solutions", *solver_judges()),
        solutions=solver_solution_params(),
        sandbox=lambda wc: solver_sandbox_params(wc.mode),
        answers=declare(config, "answers.judge", "answers.comparison", untracked=["answers.comparison.workers"])["answers"],
        judge_model=solver_judge_model(),
        prompts_dir=Untracked(config["prompts_dir"]),
        store=f"{P.cache}/evaluate_solver/{{benchmark}}/{{model}}/{{effort}}-{{mode}}.jsonl",
        judge_store=f"{P.cache}/evaluate_solver/{{benchmark}}/{{model}}/{{effort}}-{{mode}}.judge.jsonl",
    wildcard_constraints:
        benchmark=r"[A-Za-z0-9_.-]+",
        model=r"[A-Za-z0-9_.-]+",
        effort=r"high|medium|low",
        mode=r"no_tool|tool",
    log:
        f"{P.logs}/evaluate_solver/{{benchmark}}/{{model}}/{{effort}}-{{mode}}.log",
    benchmark:
        f"{P.bench}/evaluate_solver/{{benchmark}}/{{model}}/{{effort}}-{{mode}}.tsv"
    threads: config["resources"]["solutions"]["threads"]
    resources:
        mem_mb=solver_resource("mem_mb"),
        runtime=solver_resource("runtime"),
        gpu=solver_resource("gpu"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/evaluate_solver.py"


rule summarize_solver_eval:
    input:
        summaries=solver_eval_summaries(),
    output:
        table=report(
            f"{P.results}/eval/solver/summary.md",
            caption="../workflow/report/solver_eval_table.rst",
            category="Evaluation",
        ),
        tsv=f"{P.results}/eval/solver/summary.tsv",
        plot=report(
            f"{P.results}/eval/solver/accuracy_at_k.svg",
            caption="../workflow/report/solver_eval_plot.rst",
            category="Evaluation",
        ),
    params:
        confidence=config["eval"]["solver"]["bootstrap"]["confidence"],
    log:
        f"{P.logs}/summarize_solver_eval.log",
    benchmark:
        f"{P.bench}/summarize_solver_eval.tsv"
    resources:
        **family_resources("cpu"),
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/summarize_solver_eval.py"
