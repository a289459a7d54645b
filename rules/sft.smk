# sft: re-judged solutions of every shard -> chat `messages` Parquet shards per variant and bucket + card,
# after the hygiene audit (sft/hygiene.json) against the decontaminated set, the final verdicts and the benchmarks.


rule write_sft_shards:
    input:
        final_judged=expand_shards("answers/final_judged/{source}/shard-{shard}.parquet"),
        majority=expand_shards("answers/majority/{source}/shard-{shard}.parquet"),
        summaries=sft_card_summaries(),
        prompts=solution_prompts(),
        decontam_sets=decontam_files("set.parquet", ["answers"]),
        decontam_audits=decontam_files("audit.parquet", ["answers"]),
        benchmarks=local_benchmark_files("answers"),
        code_tags=[str(p) for p in code_tag_files(config["prompts_dir"])],
        forum_cot=forum_cot_shards("answers/forum_cot/{source}/shard-{shard}.parquet"),
        forum_cot_prompt=forum_cot_shards(prompt_file(config["forum_cot"]["sft_prompt"]), per_shard=False),
    output:
        data=directory(f"{P.results}/sft/data"),
        manifest=f"{P.results}/sft/manifest.json",
        summary=f"{P.results}/sft/data.summary.json",
        card=f"{P.results}/sft/card.md",
        hygiene=f"{P.results}/sft/hygiene.json",
    params:
        **declare(
            config,
            "dataset",
            "sft",
            "answers.difficulty",
            "decontam.benchmarks",
            "forum_cot.enabled",
            "solutions.model",
            "solutions.efforts",
            "solutions.effort_via",
            "solutions.n_tir",
            "solutions.n_plain",
            untracked=["prompts_dir"],
        ),
        # the card names the solutions model (what answered is declared by generate_solutions)
        models=declared_models(config, "solutions"),
    log:
        f"{P.logs}/write_sft_shards.log",
    benchmark:
        f"{P.bench}/write_sft_shards.tsv"
    resources:
        **family_resources("cpu"),
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/write_sft_shards.py"
