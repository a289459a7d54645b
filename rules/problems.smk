# problems: forum threads -> extracted problems -> [language: detected, routed, translated] -> classified
# (question type, subject) -> forum answers -> merged.
# Per source and shard; shards are chosen from a hash of the thread id (see mathforge.ids).


rule ingest_forum:
    input:
        lambda wc: P.source(wc.source)["path"],
    output:
        threads=f"{P.results}/problems/{{source}}/raw.parquet",
        stats=f"{P.results}/problems/{{source}}/raw.summary.json",
    params:
        source=lambda wc: P.source(wc.source),
        limits={k: config["problems"][k] for k in ("remove_quotes", "max_post_chars", "max_discussion_chars")},
    wildcard_constraints:
        source=P.wildcard_pattern(FORUM_SOURCES),
    log:
        f"{P.logs}/ingest_forum/{{source}}.log",
    benchmark:
        f"{P.bench}/ingest_forum/{{source}}.tsv"
    threads: config["resources"]["cpu"]["threads"]
    resources:
        **family_resources("cpu"),
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/ingest_forum.py"


rule extract_problems:
    input:
        threads=f"{P.results}/problems/{{source}}/raw.parquet",
        prompt=prompt_file(config["problems"]["extraction"]["prompt"]),
        retry_prompt=faithfulness_retry_prompt(),
    output:
        problems=f"{P.results}/problems/{{source}}/extracted/shard-{{shard}}.parquet",
        dropped=f"{P.results}/problems/{{source}}/extracted/shard-{{shard}}.dropped.parquet",
        stats=f"{P.results}/problems/{{source}}/extracted/shard-{{shard}}.summary.json",
    params:
        n_shards=source_shards,
        **declare(config, "problems.extraction", "problems.faithfulness", untracked=["prompts_dir"]),
        model=stage_model_identity(config, "problems.extraction"),
        models=declared_models(config, "problems.extraction"),
        store=f"{P.cache}/extract_problems/{{source}}/shard-{{shard}}.jsonl",
    wildcard_constraints:
        source=P.wildcard_pattern(FORUM_SOURCES),
        shard=r"\d+",
    log:
        f"{P.logs}/extract_problems/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/extract_problems/{{source}}/shard-{{shard}}.tsv"
    threads: stage_threads(config, "problems.extraction", "llm")
    resources:
        **stage_job_resources("problems.extraction", "llm"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/extract_problems.py"


rule import_problems:
    input:
        table=lambda wc: P.source(wc.source)["path"],
    output:
        problems=f"{P.results}/problems/{{source}}/extracted/shard-{{shard}}.parquet",
        dropped=f"{P.results}/problems/{{source}}/extracted/shard-{{shard}}.dropped.parquet",
        stats=f"{P.results}/problems/{{source}}/extracted/shard-{{shard}}.summary.json",
    params:
        source=lambda wc: P.source(wc.source),
        n_shards=source_shards,
    wildcard_constraints:
        source=P.wildcard_pattern(TABLE_SOURCES),
        shard=r"\d+",
    log:
        f"{P.logs}/import_problems/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/import_problems/{{source}}/shard-{{shard}}.tsv"
    threads: config["resources"]["cpu"]["threads"]
    resources:
        **family_resources("cpu"),
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/import_problems.py"


rule detect_language:
    input:
        problems=f"{P.results}/problems/{{source}}/extracted/shard-{{shard}}.parquet",
        prompt=translation_prompt(),
    output:
        problems=f"{P.results}/problems/{{source}}/language/shard-{{shard}}.parquet",
        dropped=f"{P.results}/problems/{{source}}/language/shard-{{shard}}.dropped.parquet",
        stats=f"{P.results}/problems/{{source}}/language/shard-{{shard}}.summary.json",
    params:
        **declare(config, "problems.language", "problems.translation", untracked=["prompts_dir"]),
        model=stage_model_identity(config, "problems.translation"),
        models=declared_models(config, "problems.translation"),
        store=f"{P.cache}/detect_language/{{source}}/shard-{{shard}}.jsonl",
    wildcard_constraints:
        shard=r"\d+",
    log:
        f"{P.logs}/detect_language/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/detect_language/{{source}}/shard-{{shard}}.tsv"
    threads: stage_threads(config, "problems.translation", "llm")
    resources:
        **stage_job_resources("problems.translation", "llm"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/detect_language.py"


rule classify_problems:
    input:
        problems=classify_input,
        prompts=classifier_prompts(),
    output:
        classified=f"{P.results}/problems/{{source}}/classified/shard-{{shard}}.parquet",
        proofs=f"{P.results}/problems/{{source}}/classified/shard-{{shard}}.proofs.parquet",
        dropped=f"{P.results}/problems/{{source}}/classified/shard-{{shard}}.dropped.parquet",
        stats=f"{P.results}/problems/{{source}}/classified/shard-{{shard}}.summary.json",
    params:
        **declare(config, "problems.classification", "problems.problem_type", untracked=["prompts_dir"]),
        model=stage_model_identity(config, "problems.classification"),
        models=declared_models(config, "problems.classification"),
        store=f"{P.cache}/classify_problems/{{source}}/shard-{{shard}}.jsonl",
    log:
        f"{P.logs}/classify_problems/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/classify_problems/{{source}}/shard-{{shard}}.tsv"
    threads: stage_threads(config, "problems.classification", "llm")
    resources:
        **stage_job_resources("problems.classification", "llm"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/classify_problems.py"


rule extract_answers:
    input:
        problems=f"{P.results}/problems/{{source}}/classified/shard-{{shard}}.parquet",
        prompt=prompt_file(config["problems"]["answers"]["prompt"]),
    output:
        answers=f"{P.results}/problems/{{source}}/answers/shard-{{shard}}.parquet",
        dropped=f"{P.results}/problems/{{source}}/answers/shard-{{shard}}.dropped.parquet",
        stats=f"{P.results}/problems/{{source}}/answers/shard-{{shard}}.summary.json",
    params:
        **declare(config, "problems.answers", untracked=["prompts_dir"]),
        model=stage_model_identity(config, "problems.answers"),
        models=declared_models(config, "problems.answers"),
        store=f"{P.cache}/extract_answers/{{source}}/shard-{{shard}}.jsonl",
    log:
        f"{P.logs}/extract_answers/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/extract_answers/{{source}}/shard-{{shard}}.tsv"
    threads: stage_threads(config, "problems.answers", "llm")
    resources:
        **stage_job_resources("problems.answers", "llm"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/extract_answers.py"


rule merge_problems:
    input:
        answers=P.shard_files("{results}/problems/{source}/answers/shard-{shard}.parquet"),
        proofs=P.shard_files("{results}/problems/{source}/classified/shard-{shard}.proofs.parquet"),
        dropped=problem_step_files(".dropped.parquet"),
    output:
        problems=f"{P.results}/problems/problems.parquet",
        proofs=f"{P.results}/problems/proof_problems.parquet",
        dropped=f"{P.results}/problems/dropped.parquet",
        summary=f"{P.results}/problems/problems.summary.json",
    log:
        f"{P.logs}/merge_problems.log",
    benchmark:
        f"{P.bench}/merge_problems.tsv"
    threads: config["resources"]["cpu"]["threads"]
    resources:
        **family_resources("cpu"),
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/merge_problems.py"
