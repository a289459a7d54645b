# answers: solutions -> judged against the forum answer -> majority vote, repaired expected answer,
# re-judged solutions and solve rates. One job per solutions shard.


rule judge_answers:
    input:
        solutions=f"{P.results}/solutions/shard-{{shard}}.parquet",
        prompt=prompt_file(config["answers"]["judge"]["prompt"]),
    output:
        judged=f"{P.results}/answers/judged/shard-{{shard}}.parquet",
        summary=f"{P.results}/answers/judged/shard-{{shard}}.summary.json",
    params:
        answers=config["answers"],
        model=stage_model_identity(config, "answers.judge"),
        store=f"{P.cache}/judge_answers/shard-{{shard}}.jsonl",
    wildcard_constraints:
        shard=r"\d+",
    log:
        f"{P.logs}/judge_answers/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/judge_answers/shard-{{shard}}.tsv"
    threads: config["answers"]["comparison"]["workers"]
    resources:
        **stage_resources(config, "answers.judge", "llm"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/judge_answers.py"


rule fill_majority_answer:
    input:
        judged=f"{P.results}/answers/judged/shard-{{shard}}.parquet",
        prompt=prompt_file(config["answers"]["judge"]["prompt"]),
    output:
        majority=f"{P.results}/answers/majority/shard-{{shard}}.parquet",
        final_judged=f"{P.results}/answers/final_judged/shard-{{shard}}.parquet",
        summary=f"{P.results}/answers/majority/shard-{{shard}}.summary.json",
    params:
        answers=config["answers"],
        model=stage_model_identity(config, "answers.judge"),
        store=f"{P.cache}/fill_majority_answer/shard-{{shard}}.jsonl",
    wildcard_constraints:
        shard=r"\d+",
    log:
        f"{P.logs}/fill_majority_answer/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/fill_majority_answer/shard-{{shard}}.tsv"
    threads: config["answers"]["comparison"]["workers"]
    resources:
        **stage_resources(config, "answers.judge", "llm"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/fill_majority_answer.py"
