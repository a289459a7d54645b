# report: the run's funnel (rows kept and dropped per stage and reason) and the solution, answer and
# decontamination statistics, for `snakemake --report`.


rule summarize_run:
    input:
        summaries=run_summaries(),
    output:
        table=report(f"{P.results}/report/funnel.md", caption="../workflow/report/funnel.rst", category="Funnel"),
        plot=report(f"{P.results}/report/funnel.svg", caption="../workflow/report/funnel.rst", category="Funnel"),
        statistics=report(
            f"{P.results}/report/statistics.md", caption="../workflow/report/statistics.rst", category="Statistics"
        ),
        solve_rates=report(
            f"{P.results}/report/solve_rates.svg", caption="../workflow/report/solve_rates.rst", category="Statistics"
        ),
        problem_types=report(
            f"{P.results}/report/problem_types.svg",
            caption="../workflow/report/problem_types.rst",
            category="Statistics",
        ),
    log:
        f"{P.logs}/summarize_run.log",
    benchmark:
        f"{P.bench}/summarize_run.tsv"
    resources:
        **family_resources("cpu"),
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/summarize_run.py"
