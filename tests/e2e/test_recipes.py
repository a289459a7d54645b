"""The seed recipes (config/recipes/*.yaml) as shipped: a Slurm-profile dry run of each, with the
inputs it names stood in by the demo's files, plans every stage and gives each LLM rule the GPUs
and memory of the model its stage names."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO, planned_jobs, run_snakemake

from mathforge.config import load_config
from mathforge.inference.models import STAGE_KEYS, stage_model, stage_resources
from mathforge.resources import sized_amount, sizing

pytestmark = pytest.mark.e2e

RECIPES = REPO / "config" / "recipes"
DEMO = REPO / "config" / "demo"
# The rule of each LLM stage (evaluate_prover follows the prover's model).
STAGE_RULES = {
    "problems.extraction": ["extract_problems"],
    "problems.translation": ["detect_language"],
    "problems.classification": ["classify_problems"],
    "problems.answers": ["extract_answers"],
    "decontam.judge": ["decontaminate"],
    "solutions": ["generate_solutions"],
    "answers.judge": ["judge_answers", "fill_majority_answer"],
    "formal": ["autoformalize"],
    "proofs": ["prove", "evaluate_prover"],
    "forum_cot.rewrite": ["rewrite_forum_solutions"],
}
# The resource family of the stages not in `llm`.
FAMILIES = {"solutions": "solutions", "decontam.judge": "embed"}


def stand_in_inputs(recipe: dict, workdir: Path) -> None:
    """Every input file the recipe names, as a copy of a demo file of the same format."""
    demo = {
        "aops_jsonl": DEMO / "forum_threads.jsonl",
        "stackexchange_xml": DEMO / "Posts.xml",
        "problem_table": DEMO / "prelude_statements.jsonl",
    }
    files = [(s["path"], demo[s["format"]]) for s in recipe["sources"]]
    files += [(b["path"], DEMO / "prelude_eval.jsonl") for b in recipe.get("eval", {}).get("benchmarks", [])]
    files += [
        (b["path"], DEMO / "prelude_eval.jsonl") for b in recipe["decontam"]["benchmarks"] if b.get("path")
    ]
    for path, source in files:
        target = workdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)


def job_resources(dry_run: str) -> dict[str, set[tuple[str, str]]]:
    """{rule: {(gpu, mem_mb)}} from the jobs a dry run prints (group members too)."""
    seen: dict[str, set[tuple[str, str]]] = {}
    for job in planned_groups(dry_run)[1]:
        if "gpu" in job:
            seen.setdefault(job["rule"], set()).add((job.get("gpu"), job.get("mem_mb")))
    return seen


@pytest.fixture(scope="module")
def slurm_plan(tmp_path_factory):
    """A function: a recipe's Slurm-profile dry run, each recipe's run once for this module."""
    runs = {}

    def plan(name: str) -> str:
        if name not in runs:
            workdir, path = tmp_path_factory.mktemp(name), RECIPES / f"{name}.yaml"
            stand_in_inputs(yaml.safe_load(path.read_text()), workdir)
            runs[name] = run_snakemake(
                workdir, path, "-n", "--profile", str(REPO / "profiles" / "slurm")
            ).output
        return runs[name]

    return plan


@pytest.mark.parametrize("name", ["nemotron-math-v2", "nemotron-math-proofs"])
def test_recipe_dry_runs_on_the_slurm_profile_with_per_model_gpus(slurm_plan, name):
    path = RECIPES / f"{name}.yaml"
    out = slurm_plan(name)
    jobs = planned_jobs(out)
    assert {"prove", "generate_solutions", "autoformalize", "extract_problems", "write_sft_shards"} <= set(
        jobs
    )
    cfg = load_config(path)
    resources = job_resources(out)
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())["set-resources"]
    for key in STAGE_KEYS:
        model = stage_model(cfg, key)
        assert model["backend"] == "vllm" and model["server"]["device"] == "gpu", key
        gpus = model["resources"]["gpu"]
        assert gpus == model["server"]["tensor_parallel_size"], f"{key}: GPUs per job != tensor parallel size"
        for rule in STAGE_RULES[key]:
            if rule not in jobs:
                continue
            # The profile's memory wins; else the job's is sized by its input: the floor before
            # the input is made (and for the tiny stand-ins).
            fixed = profile.get(rule, {}).get("mem_mb")
            mems = {str(fixed)} if fixed else {str(model["resources"]["mem_mb"])}
            assert resources[rule] and resources[rule] <= {(str(gpus), m) for m in mems}, rule
        family = FAMILIES.get(key, "llm")
        mem = sizing(cfg["resources"][family], stage_resources(cfg, key, family))["mem_mb"]
        assert sized_amount(input_mb=0, attempt=1, **mem) == model["resources"]["mem_mb"], key  # the floor
    assert resources["ingest_forum"] == {("0", "4000")}  # CPU jobs keep the cpu family's (a tiny stand-in)


def planned_groups(dry_run: str) -> tuple[list[tuple[str, list[dict]]], list[dict]]:
    """The group jobs of a dry run, as (group, [member]), and every job; a job is {"rule": name,
    resource: value} with the resources the dry run prints for it."""
    groups, jobs, group = [], [], None
    for line in dry_run.splitlines():
        if m := re.match(r"\[[^\]]+\] Group job (\S+) ", line):
            group = (m.group(1), [])
            groups.append(group)
        elif re.match(r"\[[^\]]+\]$", line):  # an ungrouped job (group members are indented)
            group = None
        elif m := re.match(r"\s*(?:local)?rule (\w+):", line):
            jobs.append({"rule": m.group(1)})
            if group and line.startswith(" "):
                group[1].append(jobs[-1])
        elif (m := re.match(r"\s+resources: (.*)", line)) and jobs:
            jobs[-1].update(kv.split("=", 1) for kv in m.group(1).split(", ") if "=" in kv)
    return groups, jobs


@pytest.mark.parametrize("name", ["nemotron-math-v2", "nemotron-math-proofs"])
def test_slurm_groups_keep_gpu_rules_apart_and_size_every_member(slurm_plan, name):
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    cpu_partition = profile["default-resources"]["slurm_partition"]
    groups, jobs = planned_groups(slurm_plan(name))
    assert groups, "no group job planned: the profile's `groups` did not resolve"
    for job in jobs:  # grouped or not: a job that asks for GPUs goes where there are GPUs
        if job["rule"] != "all" and int(job["gpu"]) > 0:
            assert job["slurm_partition"] != cpu_partition, f"{job['rule']} asks for GPUs on {cpu_partition}"
    grouped = {job["rule"] for _, members in groups for job in members}
    for rule, group in profile["groups"].items():
        if rule in {job["rule"] for job in jobs}:
            assert rule in grouped, f"{rule} was planned outside its group {group}"
    for group, members in groups:
        assert {profile["groups"][job["rule"]] for job in members} == {group}
        # A group job goes to one partition (Snakemake takes its first member's): all the same.
        partitions = {job["slurm_partition"] for job in members}
        assert len(partitions) == 1, f"group {group} mixes partitions: {members}"
        if any(int(job["gpu"]) > 0 for job in members):
            assert partitions != {cpu_partition}, f"group {group} puts GPU rules on {cpu_partition}"
        # Snakemake sums a group's runtime and takes its max memory over the members it can size:
        # a member left <TBD> (input made inside the group) would be missing from both.
        for job in members:
            assert job["runtime"].isdigit() and job["mem_mb"].isdigit(), (group, job)
    if name == "nemotron-math-v2":
        assert {"sources", "problems_llm", "solutions_llm", "finish"} <= {group for group, _ in groups}


def test_the_slurm_profile_groups_only_rules_that_exist():
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    rules = {
        m for f in (REPO / "rules").glob("*.smk") for m in re.findall(r"^rule (\w+):", f.read_text(), re.M)
    }
    assert set(profile["groups"]) <= rules, set(profile["groups"]) - rules
    assert set(profile["set-resources"]) <= rules, set(profile["set-resources"]) - rules
    assert set(profile["group-components"]) == set(profile["groups"].values())


def test_the_seed_settings_are_the_recipes():
    v2, proofs = (load_config(RECIPES / f"{n}.yaml") for n in ("nemotron-math-v2", "nemotron-math-proofs"))
    solver = stage_model(v2, "solutions")
    assert solver["model"] == "openai/gpt-oss-120b" and stage_model(v2, "problems.extraction")["model"] == (
        "Qwen/Qwen2.5-32B-Instruct"
    )
    s = v2["solutions"]
    assert (s["efforts"], s["n_tir"], s["n_plain"]) == (["high", "medium", "low"], 8, 8)
    assert s["tir"]["code_tags"] == "gpt-oss" and s["sampling"]["max_tokens"] == 120000
    assert stage_model(proofs, "formal")["model"] == "openai/gpt-oss-120b"
    prover, p = stage_model(proofs, "proofs"), proofs["proofs"]
    assert prover["model"] == "Goedel-LM/Goedel-Prover-V2-32B"
    assert (p["n_pass"], p["max_turns"], p["remove_cot"], p["delete_wrong_turns"]) == (4, 8, True, True)
    assert {k: p["sampling"][k] for k in ("temperature", "top_p", "max_tokens")} == {
        "temperature": 1.0, "top_p": 0.95, "max_tokens": 38912,
    }  # fmt: skip
    assert proofs["lean"]["timeout_s"] == 600 and proofs["eval"]["n_samples"] == 32
