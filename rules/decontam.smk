# decontam: one source's problems -> benchmark decontamination (dense + lexical + LLM judge) ->
# semantic dedup, within the source and against the kept problems of the sources listed before it.
# {target} is `answers` (the source's answer problems) or `proofs` (its proof problems).


rule decontaminate:
    input:
        problems=decontam_input,
        earlier_sets=earlier_decontam("set.parquet"),
        earlier_vectors=earlier_decontam("vectors.npy"),
        benchmarks=benchmark_files,
        prompt=prompt_file(config["decontam"]["judge"]["prompt"]),
    output:
        set=f"{P.results}/decontam/{{target}}/{{source}}/set.parquet",
        audit=f"{P.results}/decontam/{{target}}/{{source}}/audit.parquet",
        summary=f"{P.results}/decontam/{{target}}/{{source}}/set.summary.json",
        candidates=f"{P.results}/decontam/{{target}}/{{source}}/candidates.parquet",
        vectors=f"{P.results}/decontam/{{target}}/{{source}}/vectors.npy",
    params:
        **declare(config, "decontam", untracked=["prompts_dir"]),
        model=stage_model_identity(config, "decontam.judge"),
        models=declared_models(config, "decontam.judge") | declared_embedding_model(config),
        embedding_model=embedding_endpoint_identity(),
        store=f"{P.cache}/decontaminate/{{target}}/{{source}}.jsonl",
        embedding_cache=str(embedding_cache_path(config)),
    wildcard_constraints:
        target="answers|proofs",
    log:
        f"{P.logs}/decontaminate/{{target}}/{{source}}.log",
    benchmark:
        f"{P.bench}/decontaminate/{{target}}/{{source}}.tsv"
    threads: stage_threads(config, "decontam.judge", "embed")
    resources:
        **stage_job_resources("decontam.judge", "embed"),
    conda:
        "../envs/embed.yaml"
    script:
        "../scripts/decontaminate.py"
