# sft: re-judged solutions -> chat `messages` Parquet shards per variant and bucket + card. The rows
# are built and pass the hygiene audit per solutions shard (write_sft_part: against the source's
# decontaminated set, the shard's final verdicts and the benchmarks); one job assembles the shards,
# the card and the audit's report (sft/hygiene.json) from the parts.


rule write_sft_part:
    input:
        final_judged=f"{P.results}/answers/final_judged/{{source}}/shard-{{shard}}.parquet",
        majority=f"{P.results}/answers/majority/{{source}}/shard-{{shard}}.parquet",
        prompts=solution_prompts(),
        decontam_set=f"{P.results}/decontam/answers/{{source}}/set.parquet",
        decontam_audit=f"{P.results}/decontam/answers/{{source}}/audit.parquet",
        benchmarks=local_benchmark_files("answers"),
        code_tags=[str(p) for p in code_tag_files(config["prompts_dir"])],
        forum_cot=forum_cot_shards(f"{P.results}/answers/forum_cot/{{source}}/shard-{{shard}}.parquet", per_shard=False),
        forum_cot_prompt=forum_cot_shards(prompt_file(config["forum_cot"]["sft_prompt"]), per_shard=False),
    output:
        part=f"{P.results}/sft/parts/{{source}}/shard-{{shard}}.parquet",
        messages_keys=f"{P.results}/sft/parts/{{source}}/shard-{{shard}}.keys.parquet",
        hygiene=f"{P.results}/sft/parts/{{source}}/shard-{{shard}}.hygiene.json",
        summary=f"{P.results}/sft/parts/{{source}}/shard-{{shard}}.summary.json",
    params:
        # the rows and their audit; how they are cut into files (shard_rows) is the assembly's
        **declare(
            config,
            "sft",
            "decontam.benchmarks",
            "forum_cot.enabled",
            "solutions.effort_via",
            untracked=["prompts_dir", "sft.shard_rows"],
        ),
    wildcard_constraints:
        shard=r"\d+",
    log:
        f"{P.logs}/write_sft_part/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/write_sft_part/{{source}}/shard-{{shard}}.tsv"
    resources:
        **family_resources("cpu"),
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/write_sft_part.py"


rule write_sft_shards:
    input:
        parts=expand_shards("sft/parts/{source}/shard-{shard}.parquet"),
        messages_keys=expand_shards("sft/parts/{source}/shard-{shard}.keys.parquet"),
        part_hygiene=expand_shards("sft/parts/{source}/shard-{shard}.hygiene.json"),
        part_summaries=expand_shards("sft/parts/{source}/shard-{shard}.summary.json"),
        # the card's solve-rate table (two columns of each shard's problems)
        majority=expand_shards("answers/majority/{source}/shard-{shard}.parquet"),
        summaries=sft_card_summaries(),
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
