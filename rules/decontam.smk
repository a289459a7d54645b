# decontam: problems -> benchmark decontamination (dense + lexical + LLM judge) -> semantic dedup.
# {target} is `answers` (problems.parquet) or `proofs` (proof_problems.parquet).


rule decontaminate:
    input:
        problems=decontam_input,
        benchmarks=benchmark_files,
        prompt=prompt_file(config["decontam"]["judge"]["prompt"]),
    output:
        set=f"{P.results}/decontam/{{target}}/set.parquet",
        audit=f"{P.results}/decontam/{{target}}/audit.parquet",
        summary=f"{P.results}/decontam/{{target}}/set.summary.json",
        candidates=f"{P.results}/decontam/{{target}}/candidates.parquet",
    params:
        **declare(config, "decontam", untracked=["prompts_dir"]),
        model=stage_model_identity(config, "decontam.judge"),
        models=declared_models(config, "decontam.judge") | declared_embedding_model(config),
        embedding_model=embedding_endpoint_identity(),
        store=f"{P.cache}/decontaminate/{{target}}.jsonl",
        embedding_cache=str(embedding_cache_path(config)),
    wildcard_constraints:
        target="answers|proofs",
    log:
        f"{P.logs}/decontaminate/{{target}}.log",
    benchmark:
        f"{P.bench}/decontaminate/{{target}}.tsv"
    threads: stage_threads(config, "decontam.judge", "embed")
    resources:
        **stage_job_resources("decontam.judge", "embed"),
    conda:
        "../envs/embed.yaml"
    script:
        "../scripts/decontaminate.py"
