# Input functions and small lookups shared by the rule files (no processing logic here).
from mathforge.decontam.dense import declared_embedding_model, embedding_cache_path
from mathforge.hygiene.tool_output import code_tag_files
from mathforge.ids import canonical_json
from mathforge.inference.endpoints import model_identity
from mathforge.evaluation.models import eval_models, evaluated_model_name, model_inference
from mathforge.inference.models import (
    declared_models,
    model_resources,
    model_section,
    stage_model_identity,
    stage_resources,
    stage_threads,
)
from mathforge.params import Untracked, canonical, declare
from mathforge.resources import job_resources, wildcard_sized

FORUM_SOURCES = P.source_names("aops_jsonl", "stackexchange_xml")
# Every {source} of the per-source stages (decontam, solutions, answers, formal) and of prove, whose
# parts also include the statement tables.
PROOF_SOURCES = P.wildcard_pattern(P.source_names() + [t["name"] for t in config["proofs"]["statement_tables"]])
TABLE_SOURCES = P.source_names("problem_table")
# The proofs settings the evaluation's prover loop and its rows use (not n_pass, stop_at_first or
# statement tables); the job reads its settings through its params, so a key missing here fails it.
PROVER_LOOP_KEYS = (
    "model", "max_errors_in_feedback", "error_context_lines", "context", "reasoning_effort", "effort_via", "prompts",
    "remove_cot", "delete_wrong_turns",
)  # fmt: skip
# Sandbox settings that change how code runs, not what it prints: declared untracked.
SANDBOX_RUN_KEYS = tuple(
    f"sandbox.{k}" for k in ("url", "max_sessions", "prestart", "uid_base", "uid_count", "uid_lease_dir")
)


wildcard_constraints:
    source=PROOF_SOURCES,
    shard=r"\d+",


def prompt_file(name):
    return f"{config['prompts_dir']}/{name}.yaml"


def faithfulness_retry_prompt():
    """The retry prompt of extract_problems, when unfaithful extractions are sent back ([] otherwise)."""
    check = config["problems"]["faithfulness"]
    return [prompt_file(check["retry_prompt"])] if check["enabled"] and check["retry"] else []


def classifier_prompts():
    """The question-type classifiers' prompts, and the subject prompt when problem types are on."""
    typing = config["problems"]["problem_type"]
    subject = [prompt_file(typing["sampling"]["prompt"])] if typing["enabled"] else []
    return [prompt_file(c["prompt"]) for c in config["problems"]["classification"]["classes"]] + subject


def translation_prompt():
    """The translation prompt when language detection is on ([] otherwise)."""
    return [prompt_file(config["problems"]["translation"]["prompt"])] if language_enabled() else []


def language_enabled():
    return config["problems"]["language"]["enabled"]


def classify_input(wildcards):
    """Classification reads detect_language's output when it is on, else the extracted shard."""
    step = "language" if language_enabled() else "extracted"
    return f"{P.results}/problems/{wildcards.source}/{step}/shard-{wildcards.shard}.parquet"


def problem_step_files(suffix):
    """`suffix` files of every problems shard step (detect_language's only when it is on)."""
    steps = ["extracted", *(["language"] if language_enabled() else []), "classified", "answers"]
    return [f for step in steps for f in P.shard_files(f"{{results}}/problems/{{source}}/{step}/shard-{{shard}}{suffix}")]


def family_resources(family="llm"):
    """A rule's resources: the family's, memory and runtime sized by the job's input (mathforge.resources)."""
    return job_resources(config["resources"][family], config["resources"][family])


def stage_job_resources(stage_key, family):
    """An LLM stage's resources: its model's (or the family's) as floors, sized by the job's input."""
    return job_resources(config["resources"][family], stage_resources(config, stage_key, family))


def source_shards(wildcards):
    return P.source(wildcards.source)["shards"]


def embedding_endpoint_identity():
    """What embeds with the `endpoint` backend (a changed model re-embeds); None for the others."""
    return [model_identity(m.value) for m in declared_embedding_model(config).values()] or None


def decontam_input(wildcards):
    """The source's problem shards: its answer problems or its proof problems."""
    step = "answers/shard-{shard}.parquet" if wildcards.target == "answers" else "classified/shard-{shard}.proofs.parquet"
    shards = range(P.source(wildcards.source)["shards"])
    return [f"{P.results}/problems/{wildcards.source}/{step.format(shard=k)}" for k in shards]


def earlier_decontam(name):
    """`name` (set.parquet or vectors.npy) of the decontaminated sets of the sources listed before
    the job's: their kept problems are what its own are deduplicated against."""

    def files(wildcards):
        return decontam_files(name, [wildcards.target], P.earlier_sources(wildcards.source))

    return files


def local_benchmark_files(target):
    """Local benchmark files that apply to `target` (answers/proofs): changes must rebuild what used them."""
    return [
        b["path"]
        for b in config["decontam"]["benchmarks"]
        if b["path"] and not b["package"] and not b["hf_dataset"] and target in b["applies_to"]
    ]


def benchmark_files(wildcards):
    return local_benchmark_files(wildcards.target)


def solution_prompts():
    tags = config["solutions"]["tir"]["code_tags"]
    return [prompt_file(p) for p in config["solutions"]["prompts"].values()] + [prompt_file(f"code_tags/{tags}")]


def expand_shards(pattern):
    """`pattern` ({source}, {shard}) under results/<dataset>/ for every solutions part."""
    return P.part_files(pattern, "solutions")


def solution_targets():
    return expand_shards("solutions/{source}/shard-{shard}.parquet")


def sft_targets():
    return [*expand_shards("answers/majority/{source}/shard-{shard}.parquet"), f"{P.results}/sft/card.md"]


def part_shards(stage):
    """A function of the wildcards: how many `stage` shards the job's source has."""
    return lambda wildcards: P.part_shards(P.source(wildcards.source), stage)


def formal_prompts():
    return [prompt_file(p) for p in config["formal"]["prompts"].values()]


def formal_targets():
    return P.part_files("formal/{source}/shard-{shard}.parquet", "formal")


def decontam_files(name, targets=("answers", "proofs"), sources=None):
    """`name` of the decontaminated sets of `targets` of `sources` (every source by default)."""
    sources = P.source_names() if sources is None else sources
    return [f"{P.results}/decontam/{t}/{s}/{name}" for t in targets for s in sources]


def decontam_targets():
    return decontam_files("set.parquet") + decontam_files("set.summary.json")


def problem_targets():
    return [
        f"{P.results}/problems/problems.parquet",
        f"{P.results}/problems/proof_problems.parquet",
        f"{P.results}/problems/problems.summary.json",
    ]


def proof_prompts():
    return [prompt_file(p) for p in config["proofs"]["prompts"].values()]


def proof_targets():
    return P.part_files("proofs/{source}/shard-{shard}.parquet", "proofs")


def prove_formal_input(wildcards):
    """A source part's formal shard; a statement table's part has none (it reads the table)."""
    if wildcards.source in P.source_names():
        return [f"{P.results}/formal/{wildcards.source}/shard-{wildcards.shard}.parquet"]
    return []


# Every proofs setting but the statement tables: a prove job declares only its own table (a new
# table adds prove jobs and reruns none).
PROVE_KEYS = tuple(f"proofs.{k}" for k in config["proofs"] if k != "statement_tables")


def prove_table_entry(wildcards):
    """The job's statement table entry (None for a source's part)."""
    return next((t for t in config["proofs"]["statement_tables"] if t["name"] == wildcards.source), None)


def prove_statement_table(wildcards):
    """The statement table a statement-table part reads ([] for a source's part)."""
    entry = prove_table_entry(wildcards)
    return [entry["path"]] if entry else []


def eval_benchmark_file(wildcards):
    return next(b["path"] for b in config["eval"]["benchmarks"] if b["name"] == wildcards.benchmark)


def eval_entry(section, name):
    entries = eval_models(config) if section == "models" else config["eval"]["benchmarks"]
    return next(e for e in entries if e["name"] == name)


def eval_model(wildcards):
    """The evaluated prover's entry and the identity of the model it names (a changed model reruns it)."""
    return {**eval_entry("models", wildcards.model), "identity": model_identity(model_inference(config, wildcards.model))}


def eval_settings(wildcards, benchmarks, shared):
    """The `eval` params of one benchmark x model job: its entry of `benchmarks`, its model entry,
    and the `shared` settings (an adding benchmark or model reruns no other job)."""
    entry = next(b for b in config["eval"][benchmarks] if b["name"] == wildcards.benchmark)
    return canonical({benchmarks: [entry], "models": [eval_entry("models", wildcards.model)], **shared})


def evaluated_models(stage_key, *judges):
    """A function of the wildcards: the `models` params of an evaluation job, the evaluated model (an
    entry without `model` evaluates `stage_key`'s) and the `judges` stages' models, untracked."""

    def models(wildcards):
        name = evaluated_model_name(config, eval_entry("models", wildcards.model), stage_key)
        return {name: Untracked(model_section(config, name)), **declared_models(config, *judges)}

    return models


def eval_resource(key):
    """One resource of evaluate_prover: the llm family's, or the evaluated model's own, as floors
    sized by the job's input."""

    def floors(wildcards):
        return model_resources(config, "llm", model_inference(config, wildcards.model))

    return wildcard_sized(config["resources"]["llm"], floors, key)


def eval_summaries():
    return [
        f"{P.results}/eval/{b['name']}/{m['name']}/results.summary.json"
        for b in config["eval"]["benchmarks"]
        for m in eval_models(config)
    ]


def eval_targets():
    return [f"{P.results}/eval/summary.md"] if config["eval"]["benchmarks"] else []


def problem_summaries():
    """The step summaries of every problems source and shard (ingest to extract_answers)."""
    return [f"{P.results}/problems/{s}/raw.summary.json" for s in FORUM_SOURCES] + problem_step_files(".summary.json")


def sft_card_summaries():
    """The step summaries the SFT card's funnel is drawn from (the steps before write_sft_shards)."""
    return [
        *problem_summaries(),
        *decontam_files("set.summary.json", ["answers"]),
        *expand_shards("solutions/{source}/shard-{shard}.summary.json"),
        *expand_shards("answers/judged/{source}/shard-{shard}.summary.json"),
        *expand_shards("answers/majority/{source}/shard-{shard}.summary.json"),
        *forum_cot_shards("answers/forum_cot/{source}/shard-{shard}.summary.json"),
    ]


def run_summaries():
    """Every step summary the funnel and the run statistics are drawn from (all stages, all shards;
    `mathforge.funnel.by_step` adds the shards of a step up)."""
    return [
        *problem_summaries(),
        f"{P.results}/problems/problems.summary.json",
        *decontam_files("set.summary.json"),
        *expand_shards("solutions/{source}/shard-{shard}.summary.json"),
        *expand_shards("answers/judged/{source}/shard-{shard}.summary.json"),
        *expand_shards("answers/majority/{source}/shard-{shard}.summary.json"),
        *forum_cot_shards("answers/forum_cot/{source}/shard-{shard}.summary.json"),
        f"{P.results}/sft/data.summary.json",
        *P.part_files("formal/{source}/shard-{shard}.summary.json", "formal"),
        *P.part_files("proofs/{source}/shard-{shard}.summary.json", "proofs"),
        f"{P.results}/sft/proofs/data.summary.json",
    ]


def lean_params():
    """The Lean settings: a verdict depends on all but how many checks run at once, and where."""
    return declare(config, "lean", untracked=("lean.workers", "lean.fanout"))["lean"]


def forum_cot_shards(pattern, per_shard=True):
    """The forum_cot inputs of the SFT writer: every shard's `pattern` (or `pattern` itself, e.g. the
    job's own shard for write_sft_part) when forum_cot.enabled, else none (no rewrite job runs). With forum_cot.count_as_votes the judged
    rewrites are judge_forum_votes' (answers/forum_cot_votes/ in place of answers/forum_cot/)."""
    if not config["forum_cot"]["enabled"]:
        return []
    if counts_rewrite_votes():
        pattern = pattern.replace("answers/forum_cot/", "answers/forum_cot_votes/")
    return expand_shards(pattern) if per_shard else [pattern]


def counts_rewrite_votes():
    return config["forum_cot"]["enabled"] and config["forum_cot"]["count_as_votes"]


def rewrite_votes_input():
    """fill_majority_answer's rewrite ballots with forum_cot.count_as_votes, else none (a list either
    way, so the job sees a list of paths)."""
    if not counts_rewrite_votes():
        return []
    return [f"{P.results}/answers/forum_cot_votes/rewrites/{{source}}/shard-{{shard}}.parquet"]
