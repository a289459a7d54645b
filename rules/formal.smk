# formal: decontaminated proof problems -> Lean 4 statements (formalize, compile, backtranslate,
# judge, refine). One job per shard.


rule autoformalize:
    input:
        problems=f"{P.results}/decontam/proofs/set.parquet",
        prompts=formal_prompts(),
    output:
        formal=f"{P.results}/formal/shard-{{shard}}.parquet",
        summary=f"{P.results}/formal/shard-{{shard}}.summary.json",
    params:
        **declare(config, "formal", untracked=["prompts_dir"]),
        lean=lean_params(),
        model=stage_model_identity(config, "formal"),
        models=declared_models(config, "formal"),
        store=f"{P.cache}/autoformalize/shard-{{shard}}.jsonl",
    wildcard_constraints:
        shard=r"\d+",
    log:
        f"{P.logs}/autoformalize/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/autoformalize/shard-{{shard}}.tsv"
    resources:
        **stage_job_resources("formal", "llm"),
    conda:
        "../envs/lean.yaml"
    script:
        "../scripts/autoformalize.py"
