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
    """{rule: {(gpu, mem_mb)}} from the jobs a dry run prints."""
    seen: dict[str, set[tuple[str, str]]] = {}
    for block in re.split(r"\n(?=\[[^\]]+\]\n(?:local)?rule )", dry_run):
        rule, res = re.search(r"rule (\w+):", block), re.search(r"resources: (.*)", block)
        if rule and res:
            values = dict(kv.split("=", 1) for kv in res.group(1).split(", ") if "=" in kv)
            seen.setdefault(rule.group(1), set()).add((values.get("gpu"), values.get("mem_mb")))
    return seen


@pytest.mark.parametrize("name", ["nemotron-math-v2", "nemotron-math-proofs"])
def test_recipe_dry_runs_on_the_slurm_profile_with_per_model_gpus(tmp_path, name):
    path = RECIPES / f"{name}.yaml"
    recipe = yaml.safe_load(path.read_text())
    stand_in_inputs(recipe, tmp_path)
    out = run_snakemake(tmp_path, path, "-n", "--profile", str(REPO / "profiles" / "slurm")).output
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
            # The profile's memory wins; else the job's is sized by its input, which a dry run
            # knows only for jobs whose input is there (the stand-ins, so the floor): <TBD> else.
            fixed = profile.get(rule, {}).get("mem_mb")
            mems = {str(fixed)} if fixed else {str(model["resources"]["mem_mb"]), "<TBD>"}
            assert resources[rule] and resources[rule] <= {(str(gpus), m) for m in mems}, rule
        family = FAMILIES.get(key, "llm")
        mem = sizing(cfg["resources"][family], stage_resources(cfg, key, family))["mem_mb"]
        assert sized_amount(input_mb=0, attempt=1, **mem) == model["resources"]["mem_mb"], key  # the floor
    assert resources["ingest_forum"] == {("0", "4000")}  # CPU jobs keep the cpu family's (a tiny stand-in)


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
