# answers: solutions -> judged against the forum answer -> majority vote, repaired expected answer,
# re-judged solutions and solve rates. One job per solutions shard. forum_cot: the forum answers
# rewritten into solutions after the vote, or (forum_cot.count_as_votes) before it, voting, and
# judged after it.


rule judge_answers:
    input:
        solutions=f"{P.results}/solutions/{{source}}/shard-{{shard}}.parquet",
        prompt=prompt_file(config["answers"]["judge"]["prompt"]),
    output:
        judged=f"{P.results}/answers/judged/{{source}}/shard-{{shard}}.parquet",
        summary=f"{P.results}/answers/judged/{{source}}/shard-{{shard}}.summary.json",
    params:
        **declare(config, "answers.judge", "answers.comparison", untracked=["prompts_dir", "answers.comparison.workers"]),
        model=stage_model_identity(config, "answers.judge"),
        models=declared_models(config, "answers.judge"),
        store=f"{P.cache}/judge_answers/{{source}}/shard-{{shard}}.jsonl",
    wildcard_constraints:
        shard=r"\d+",
    log:
        f"{P.logs}/judge_answers/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/judge_answers/{{source}}/shard-{{shard}}.tsv"
    threads: config["answers"]["comparison"]["workers"]
    resources:
        **stage_job_resources("answers.judge", "llm"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/judge_answers.py"


rule fill_majority_answer:
    input:
        judged=f"{P.results}/answers/judged/{{source}}/shard-{{shard}}.parquet",
        prompt=prompt_file(config["answers"]["judge"]["prompt"]),
        rewrite_votes=rewrite_votes_input(),
    output:
        majority=f"{P.results}/answers/majority/{{source}}/shard-{{shard}}.parquet",
        final_judged=f"{P.results}/answers/final_judged/{{source}}/shard-{{shard}}.parquet",
        summary=f"{P.results}/answers/majority/{{source}}/shard-{{shard}}.summary.json",
    params:
        **declare(config, "answers", untracked=["prompts_dir", "answers.comparison.workers"]),
        model=stage_model_identity(config, "answers.judge"),
        models=declared_models(config, "answers.judge"),
        store=f"{P.cache}/fill_majority_answer/{{source}}/shard-{{shard}}.jsonl",
    wildcard_constraints:
        shard=r"\d+",
    log:
        f"{P.logs}/fill_majority_answer/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/fill_majority_answer/{{source}}/shard-{{shard}}.tsv"
    threads: config["answers"]["comparison"]["workers"]
    resources:
        **stage_job_resources("answers.judge", "llm"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/fill_majority_answer.py"


rule rewrite_forum_solutions:
    # forum_cot.enabled: the shard's forum answers rewritten into solutions, judged against the final answer
    input:
        majority=f"{P.results}/answers/majority/{{source}}/shard-{{shard}}.parquet",
        problems=f"{P.results}/decontam/answers/{{source}}/set.parquet",
        prompts=[
            prompt_file(config["forum_cot"]["rewrite"]["prompt"]),
            prompt_file(config["answers"]["judge"]["prompt"]),
        ],
    output:
        rewritten=f"{P.results}/answers/forum_cot/{{source}}/shard-{{shard}}.parquet",
        summary=f"{P.results}/answers/forum_cot/{{source}}/shard-{{shard}}.summary.json",
    params:
        **declare(
            config, "forum_cot", "answers.judge", "answers.comparison", untracked=["prompts_dir", "answers.comparison.workers"]
        ),
        model=stage_model_identity(config, "forum_cot.rewrite"),
        judge_model=stage_model_identity(config, "answers.judge"),
        models=declared_models(config, "forum_cot.rewrite", "answers.judge"),
        store=f"{P.cache}/rewrite_forum_solutions/{{source}}/shard-{{shard}}.jsonl",
        judge_store=f"{P.cache}/rewrite_forum_solutions/{{source}}/shard-{{shard}}.judge.jsonl",
    wildcard_constraints:
        shard=r"\d+",
    log:
        f"{P.logs}/rewrite_forum_solutions/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/rewrite_forum_solutions/{{source}}/shard-{{shard}}.tsv"
    threads: config["answers"]["comparison"]["workers"]
    resources:
        **stage_job_resources("forum_cot.rewrite", "llm"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/rewrite_forum_solutions.py"


rule rewrite_forum_votes:
    # forum_cot.count_as_votes: every problem's forum answer rewritten before the vote (its boxed answer votes)
    input:
        solutions=f"{P.results}/solutions/{{source}}/shard-{{shard}}.parquet",
        problems=f"{P.results}/decontam/answers/{{source}}/set.parquet",
        prompt=prompt_file(config["forum_cot"]["rewrite"]["prompt"]),
    output:
        rewrites=f"{P.results}/answers/forum_cot_votes/rewrites/{{source}}/shard-{{shard}}.parquet",
        summary=f"{P.results}/answers/forum_cot_votes/rewrites/{{source}}/shard-{{shard}}.summary.json",
    params:
        **declare(config, "forum_cot", untracked=["prompts_dir"]),
        model=stage_model_identity(config, "forum_cot.rewrite"),
        models=declared_models(config, "forum_cot.rewrite"),
        store=f"{P.cache}/rewrite_forum_votes/{{source}}/shard-{{shard}}.jsonl",
    wildcard_constraints:
        shard=r"\d+",
    log:
        f"{P.logs}/rewrite_forum_votes/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/rewrite_forum_votes/{{source}}/shard-{{shard}}.tsv"
    resources:
        **stage_job_resources("forum_cot.rewrite", "llm"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/rewrite_forum_votes.py"


rule judge_forum_votes:
    # forum_cot.count_as_votes: after the vote, each rewrite kept or not against the final answer
    input:
        rewrites=f"{P.results}/answers/forum_cot_votes/rewrites/{{source}}/shard-{{shard}}.parquet",
        rewrites_summary=f"{P.results}/answers/forum_cot_votes/rewrites/{{source}}/shard-{{shard}}.summary.json",
        majority=f"{P.results}/answers/majority/{{source}}/shard-{{shard}}.parquet",
        prompt=prompt_file(config["answers"]["judge"]["prompt"]),
    output:
        rewritten=f"{P.results}/answers/forum_cot_votes/{{source}}/shard-{{shard}}.parquet",
        summary=f"{P.results}/answers/forum_cot_votes/{{source}}/shard-{{shard}}.summary.json",
    params:
        **declare(config, "answers.judge", "answers.comparison", untracked=["prompts_dir"]),
        judge_model=stage_model_identity(config, "answers.judge"),
        models=declared_models(config, "answers.judge"),
        judge_store=f"{P.cache}/judge_forum_votes/{{source}}/shard-{{shard}}.jsonl",
    wildcard_constraints:
        shard=r"\d+",
    log:
        f"{P.logs}/judge_forum_votes/{{source}}/shard-{{shard}}.log",
    benchmark:
        f"{P.bench}/judge_forum_votes/{{source}}/shard-{{shard}}.tsv"
    threads: config["answers"]["comparison"]["workers"]
    resources:
        **stage_job_resources("answers.judge", "llm"),
    conda:
        "../envs/vllm.yaml"
    script:
        "../scripts/judge_forum_votes.py"
