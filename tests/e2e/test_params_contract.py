"""Params are the contract, tested per setting: on a finished stub run, changing one leaf setting
reruns exactly the rules whose params declare it and what is downstream of them; a setting that
only changes how a job runs (Untracked) reruns nothing. Real Snakemake, the scripted stub."""

from __future__ import annotations

import copy

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import STUB_WORKFLOW_SCRIPT, planned_jobs, run_snakemake, write_stub_workflow

from mathforge.config import validate_config

pytestmark = pytest.mark.e2e

REPORT = {"summarize_run": 1, "all": 1}
SFT_PUBLISHED = {"dataset_folder": 1, "export_dataset": 2}  # one kind: its folder and its two exports
# Jobs per part of the stub workflow: solutions 4 (forum's solution_shards 2, se and byo 1 each),
# formal 3 (formal.n_shards 1 per source), prove 4 (the 3 formal parts and the statement table's).
SOLUTION_PARTS, FORMAL_PARTS, PROVE_PARTS = 4, 3, 4
DOWNSTREAM_OF_SOLUTIONS = {
    "judge_answers": SOLUTION_PARTS,
    "fill_majority_answer": SOLUTION_PARTS,
    "write_sft_part": SOLUTION_PARTS,
    "write_sft_shards": 1,
    **SFT_PUBLISHED,
}
# The SFT rows are built per solutions part (write_sft_part, which declares `sft`), then assembled.
MATH_SFT = {"write_sft_part": SOLUTION_PARTS, "write_sft_shards": 1}
BOTH_SFT = {**MATH_SFT, "write_proof_sft_shards": 1, "dataset_folder": 2, "export_dataset": 4}
DOWNSTREAM_OF_PROVE = {"prove": PROVE_PARTS, "write_proof_sft_shards": 1, **SFT_PUBLISHED}
# Every decontaminated set (answers and proofs of each of the 3 sources) and all that reads them;
# the statement table's prove part does not.
DOWNSTREAM_OF_DECONTAM = {
    "decontaminate": 6,
    "generate_solutions": SOLUTION_PARTS,
    **DOWNSTREAM_OF_SOLUTIONS,
    "autoformalize": FORMAL_PARTS,
    "prove": FORMAL_PARTS,
    **BOTH_SFT,
    "dataset_folder": 3,  # the math, the proof and the formal statements dataset folders
    **REPORT,
}
JUDGE_MODEL = {"backend": "openai", "model": "stub-judge", "openai": {"api_key_env": None}}

# (setting, new value, the jobs a dry run then plans)
CASES = [
    ("sft.system_prompt", False, {**BOTH_SFT, **REPORT}),
    ("sft.reasoning_format", "think", {**BOTH_SFT, **REPORT}),
    ("sft.min_tokens", 2, {**MATH_SFT, **SFT_PUBLISHED, **REPORT}),
    # how the rows are cut into files: the writers of files, not the SFT parts
    ("sft.shard_rows", 3, {"write_sft_shards": 1, "write_proof_sft_shards": 1, "dataset_folder": 2, "export_dataset": 4,
                           **REPORT}),
    ("solutions.n_plain", 2, {"generate_solutions": SOLUTION_PARTS, **DOWNSTREAM_OF_SOLUTIONS, **REPORT}),
    ("sandbox.timeout_s", 7, {"generate_solutions": SOLUTION_PARTS, **DOWNSTREAM_OF_SOLUTIONS, **REPORT}),
    ("answers.judge.model", "judge", {**DOWNSTREAM_OF_SOLUTIONS, **REPORT}),
    ("answers.difficulty.min_solve_rate", 0.1, {"fill_majority_answer": SOLUTION_PARTS, **MATH_SFT,
                                                **SFT_PUBLISHED, **REPORT}),
    ("answers.majority.min_votes", 3, {"fill_majority_answer": SOLUTION_PARTS, **MATH_SFT, **SFT_PUBLISHED,
                                       **REPORT}),
    ("decontam.dedup.threshold", 0.85, DOWNSTREAM_OF_DECONTAM),
    ("proofs.max_errors_in_feedback", 2, {**DOWNSTREAM_OF_PROVE, "evaluate_prover": 1, "summarize_eval": 1, **REPORT}),
    ("proofs.n_pass", 3, {**DOWNSTREAM_OF_PROVE, **REPORT}),
    ("eval.n_samples", 3, {"evaluate_prover": 1, "summarize_eval": 1, "all": 1}),
    ("lean.timeout_s", 31, {"autoformalize": FORMAL_PARTS, "prove": PROVE_PARTS, "write_proof_sft_shards": 1,
                            "dataset_folder": 2, "export_dataset": 2, "evaluate_prover": 1, "summarize_eval": 1,
                            **REPORT}),
    # how a job runs, not what it writes: declared Untracked, so nothing reruns
    ("lean.workers", 3, {}),
    ("sandbox.max_sessions", 3, {}),
    ("sandbox.prestart", 0, {}),
    ("inference.max_concurrent_requests", 3, {}),
    ("answers.comparison.workers", 1, {}),
]  # fmt: skip


def with_setting(config: dict, path: str, value) -> dict:
    """`config` with `path` set to `value`, which must differ from the value in force (a default
    included), or the case would test nothing."""
    in_force = validate_config(copy.deepcopy(config))
    for part in path.split("."):
        in_force = in_force[part]
    assert in_force != value, f"{path} is already {value!r}"
    changed = copy.deepcopy(config)
    *parents, leaf = path.split(".")
    node = changed
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return changed


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One finished stub run shared by every case (a case only dry-runs its changed config)."""
    from conftest import start_stub_server

    wd = tmp_path_factory.mktemp("contract")
    server = start_stub_server(STUB_WORKFLOW_SCRIPT, wd)
    config_path = write_stub_workflow(wd, server.base_url)
    config = yaml.safe_load(config_path.read_text())
    config["models"] = {
        "judge": {**JUDGE_MODEL, "openai": {"base_urls": [server.base_url], "api_key_env": None}}
    }
    config_path.write_text(yaml.safe_dump(config))
    run_snakemake(wd, config_path)
    yield wd, config, server
    server.stop()


@pytest.mark.parametrize(("setting", "value", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_changed_setting_reruns_exactly_what_declares_it(finished, setting, value, expected):
    wd, config, _server = finished
    changed = wd / f"{setting}.yaml"
    changed.write_text(yaml.safe_dump(with_setting(config, setting, value)))
    assert planned_jobs(run_snakemake(wd, changed, "-n").output) == expected


def test_the_system_prompt_setting_reaches_the_proof_training_rows_without_new_requests(finished, tmp_path):
    """The proof SFT rows follow sft.system_prompt: the SFT writer, which declares `sft`, decides,
    not `prove` (which does not declare it and so would keep stale messages)."""
    wd, config, server = finished
    changed = tmp_path / "no_system.yaml"
    changed.write_text(yaml.safe_dump(with_setting(config, "sft.system_prompt", False)))
    before = server.stats()["requests"]
    try:
        run_snakemake(wd, changed)
        shards = sorted((wd / "results" / "t" / "sft" / "proofs" / "data").rglob("*.parquet"))
        rows = [r for path in shards for r in pq.read_table(path).to_pylist()]
        assert rows and all(m["role"] != "system" for r in rows for m in r["messages"])
        assert server.stats()["requests"] == before
    finally:
        run_snakemake(wd, wd / "config.yaml")  # back to the shared state for the other cases
