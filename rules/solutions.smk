# solutions: decontaminated problems -> n_tir + n_plain solutions per reasoning effort, one job per shard.


rule generate_solutions:
    input:
        problems=f"{P.results}/decontam/answers/{{source}}/set.parquet",
        prompts=solution_prompts(),
    output:
        solutions=f"{P.results}/solutions/{{source}}/shard-{{shard}}.parquet",
        summary=f"{P.results}/solutions/{{source}}/shard-{{shard}}.summary.json",
    params:
        **declare(config, "solutions", "sandbox", untracked=["prompts_dir", *SANDBOX_RUN_KEYS]),
        model=stage_model_identity(config, "solutions"),
        models=declared_models(config, "solutions"),
        n_shards=part_shards("solutions"),
        store=f"{P.cache}/generate_solutions/{{source}}/shard-{{shard}}.jsonl",
    log:
        f"{P.logs}/generate_solutions/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/generate_solutions/{{source}}/shard-{{shard}}.tsv"
    threads: stage_threads(config, "solutions", "solutions")
    resources:
        **stage_job_resources("solutions", "solutions"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/generate_solutions.py"
