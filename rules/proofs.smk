# proofs: formal statements -> Lean-verified proofs (pass@N, compiler-error refinement), one job
# per formal shard; then the verified conversations as SFT shards (the informal SFT writer).


rule prove:
    input:
        formal=prove_formal_input,
        statement_table=prove_statement_table,
        prompts=proof_prompts(),
    output:
        proofs=f"{P.results}/proofs/{{source}}/shard-{{shard}}.parquet",
        summary=f"{P.results}/proofs/{{source}}/shard-{{shard}}.summary.json",
    params:
        **declare(config, *PROVE_KEYS, "formal.n_shards", untracked=["prompts_dir"]),
        statement_table=prove_table_entry,
        lean=lean_params(),
        model=stage_model_identity(config, "proofs"),
        models=declared_models(config, "proofs"),
        store=f"{P.cache}/prove/{{source}}/shard-{{shard}}.jsonl",
    log:
        f"{P.logs}/prove/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/prove/{{source}}/shard-{{shard}}.tsv"
    resources:
        **stage_job_resources("proofs", "llm"),
    conda:
        "../envs/lean.yaml"
    script:
        "../scripts/prove.py"


rule write_proof_sft_shards:
    input:
        proofs=proof_targets(),
    output:
        data=directory(f"{P.results}/sft/proofs/data"),
        manifest=f"{P.results}/sft/proofs/manifest.json",
        summary=f"{P.results}/sft/proofs/data.summary.json",
    params:
        **declare(config, "sft.system_prompt", "sft.reasoning_format", "sft.length_buckets", "sft.shard_rows"),
    log:
        f"{P.logs}/write_proof_sft_shards.log",
    benchmark:
        f"{P.bench}/write_proof_sft_shards.tsv"
    resources:
        **family_resources("cpu"),
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/write_proof_sft_shards.py"
