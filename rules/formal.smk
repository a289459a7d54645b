# formal: decontaminated proof problems -> Lean 4 statements (formalize, compile, backtranslate,
# judge, refine). One job per shard.


rule autoformalize:
    input:
        problems=f"{P.results}/decontam/proofs/{{source}}/set.parquet",
        prompts=formal_prompts(),
    output:
        formal=f"{P.results}/formal/{{source}}/shard-{{shard}}.parquet",
        summary=f"{P.results}/formal/{{source}}/shard-{{shard}}.summary.json",
    params:
        **declare(config, "formal", untracked=["prompts_dir"]),
        lean=lean_params(),
        model=stage_model_identity(config, "formal"),
        models=declared_models(config, "formal"),
        n_shards=part_shards("formal"),
        store=f"{P.cache}/autoformalize/{{source}}/shard-{{shard}}.jsonl",
    log:
        f"{P.logs}/autoformalize/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/autoformalize/{{source}}/shard-{{shard}}.tsv"
    resources:
        **stage_job_resources("formal", "llm"),
    conda:
        "../envs/lean.yaml"
    script:
        "../scripts/autoformalize.py"
