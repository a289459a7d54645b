# solutions: decontaminated problems -> n_tir + n_plain solutions per reasoning effort, one job per shard.


rule generate_solutions:
    input:
        problems=f"{P.results}/decontam/answers/set.parquet",
        prompts=solution_prompts(),
    output:
        solutions=f"{P.results}/solutions/shard-{{shard}}.parquet",
        summary=f"{P.results}/solutions/shard-{{shard}}.summary.json",
    params:
        solutions=config["solutions"],
        sandbox=config["sandbox"],
        model=model_identity(config["inference"]),
        store=f"{P.cache}/generate_solutions/shard-{{shard}}.jsonl",
    wildcard_constraints:
        shard=r"\d+",
    log:
        f"{P.logs}/generate_solutions/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/generate_solutions/shard-{{shard}}.tsv"
    threads: config["resources"]["solutions"]["threads"]
    resources:
        **family_resources("solutions"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/generate_solutions.py"
