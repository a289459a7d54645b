"""mathforge.publish.statements: the accepted formal statements as a dataset folder of their own,
and the proof SFT rows' published columns."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from mathforge.config import validate_config
from mathforge.formal.stage import FORMAL_SCHEMA
from mathforge.publish.stage import run as build_dataset_folder
from mathforge.publish.statements import STATEMENTS_SCHEMA, build_statements_folder
from mathforge.publish.targets import folder_inputs, publish_targets
from mathforge.sft.proofs import PROOF_SFT_SCHEMA, build_proof_rows
from mathforge.sft.stage import write_shards

PUBLISH = validate_config({})["publish"]
HEADER = "import Mathlib\nopen Real"


def turn(outcome: str, statement: str | None = None) -> dict:
    return {"turn": 1, "effort": "high", "response": "r", "finish_reason": "stop", "statement": statement,
            "outcome": outcome, "lean_status": "ok" if outcome in ("accepted", "inconsistent") else "error",
            "lean_messages": "[]", "backtranslation": f"back {statement}" if statement else None,
            "judge_output": "Yes" if outcome == "accepted" else "No", "reasoning": None}  # fmt: skip


def formal_row(i: int) -> dict:
    """Every third problem fails (compile error or inconsistent), the others are accepted."""
    failed = i % 3 == 0
    statement = f"theorem t{i} (n : ℕ) : n + {i} = {i} + n := by sorry"
    turns = [turn("compile_error", "bad"), turn("inconsistent" if failed else "accepted", statement)]
    return {
        "problem_id": f"p{i:03d}", "problem": f"Show that n + {i} = {i} + n.", "source": "aops",
        "site": "aops", "thread_id": f"t{i}", "post_id": f"q{i}",
        "license": "CC BY-SA 4.0" if i % 2 else "CC0-1.0", "source_url": f"https://forum/t{i}",
        "authors": [], "source_file": "raw/aops.jsonl", "source_record": str(i),
        "formal_statement": None if failed else statement, "lean_header": HEADER,
        "status": "failed" if failed else "accepted", "failure": ("inconsistent" if i % 2 else "compile_error") if failed else None,
        "num_turns": 2, "placeholder_flag": False, "turns": turns,
    }  # fmt: skip


def write_formal_shards(tmp_path, n: int = 30, shards: int = 2) -> list[str]:
    paths = []
    for k in range(shards):
        rows = [formal_row(i) for i in range(n) if i % shards == k]
        path = tmp_path / f"formal/shard-{k}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=FORMAL_SCHEMA), path)
        paths.append(str(path))
    return paths


def test_statements_folder_keeps_accepted_statements_with_provenance_and_loads(tmp_path):
    datasets = pytest.importorskip("datasets")
    paths = write_formal_shards(tmp_path)
    publish = {**PUBLISH, "splits": {"validation": 0.2, "test": 0.0}}
    manifest = build_statements_folder(paths, publish, "demo", str(tmp_path / "statements"))
    failures = [formal_row(i)["failure"] for i in range(30) if i % 3 == 0]
    assert manifest["funnel"] == {
        "n_in": 30,
        "n_out": 20,
        "dropped": {f"failed:{f}": failures.count(f) for f in set(failures)},
    }
    ds = datasets.load_dataset(str(tmp_path / "statements"), "statements", cache_dir=str(tmp_path / "hf"))
    rows = [r for split in ds for r in ds[split]]
    assert sorted(r["problem_id"] for r in rows) == sorted(f"p{i:03d}" for i in range(30) if i % 3)
    assert sum(ds[s].num_rows for s in ds) == manifest["variants"]["statements"]["all"]["rows"] == 20
    row = next(r for r in rows if r["problem_id"] == "p004")
    assert row["formal_statement"] == formal_row(4)["formal_statement"] and row["lean_header"] == HEADER
    assert row["problem"] == "Show that n + 4 = 4 + n." and row["license"] == "CC0-1.0"
    assert row["source_url"] == "https://forum/t4" and row["thread_id"] == "t4"
    assert row["judge_output"] == "Yes" and row["backtranslation"] == f"back {row['formal_statement']}"
    assert row["lean_status"] == "ok" and row["num_turns"] == 2
    assert "source_file" not in row and set(row) == set(STATEMENTS_SCHEMA.names)
    readme = (tmp_path / "statements" / "README.md").read_text()
    meta = yaml.safe_load(readme.split("---\n")[1])
    assert meta["pretty_name"] == "demo: Lean 4 formal statements"
    assert (
        meta["license"] == ["cc-by-sa-4.0", "cc0-1.0"] and meta["configs"][0]["config_name"] == "statements"
    )
    dropped = ", ".join(f"{k}: {v}" for k, v in sorted(manifest["funnel"]["dropped"].items()))
    assert f"| autoformalize | 30 | 20 | {dropped} |" in readme
    by_problem = {r["problem_id"]: s for s in ds for r in ds[s]}
    assert len(by_problem) == 20  # one row per problem, each in one split


def test_statements_folder_without_accepted_statements_says_why(tmp_path):
    paths = write_formal_shards(tmp_path, n=3, shards=1)
    table = pq.read_table(paths[0]).to_pylist()  # p000 (failed), p001, p002: keep only p000
    pq.write_table(pa.Table.from_pylist(table[:1], schema=FORMAL_SCHEMA), paths[0])
    manifest = build_statements_folder(paths, PUBLISH, "demo", str(tmp_path / "statements"))
    assert manifest["left_out"] == {"statements": "no accepted statements"} and manifest["variants"] == {}
    assert manifest["funnel"]["dropped"] == {"failed:compile_error": 1}


def test_proof_sft_rows_carry_the_published_proof_columns(tmp_path):
    """Nemotron-Math-Proofs' columns (`problem`, `formal_statement`, `lean_header`, `messages`) and
    the provenance reach the proof dataset folder's Parquet files."""
    attempt = {
        "statement_id": "s1", "problem_id": "p1", "problem": "Show 1 = 1.", "formal_statement": "theorem t : 1 = 1",
        "lean_header": HEADER, "proof": "theorem t : 1 = 1 := rfl", "attempt": 0, "source": "aops",
        "license": "CC0-1.0", "source_url": "https://forum/t1", "authors": [], "model": "m", "seed": 0,
        "verified": True, "verified_turn": 1, "completion_tokens": 10,
        "messages": [{"role": "user", "content": "Prove it."}, {"role": "assistant", "content": "rfl"}],
    }  # fmt: skip
    rows, stats = build_proof_rows([attempt], validate_config({}))
    manifest = write_shards(rows, tmp_path / "data", 100, PROOF_SFT_SCHEMA, order=("statement_id", "attempt"))
    (tmp_path / "m.json").write_text(json.dumps({"variants": manifest}))
    stats.write(tmp_path / "data.summary.json")
    build_dataset_folder(
        "proofs",
        str(tmp_path / "data"),
        str(tmp_path / "m.json"),
        PUBLISH,
        "d",
        str(tmp_path / "f"),
        summary_path=str(tmp_path / "data.summary.json"),
    )
    (row,) = pq.read_table(next((tmp_path / "f" / "data").rglob("*.parquet"))).to_pylist()
    for key in ("problem", "formal_statement", "lean_header", "source", "license", "source_url"):
        assert row[key] == attempt[key], key
    assert [m["content"] for m in row["messages"]] == ["Prove it.", "rfl"] and row["authors"] == []


def test_statements_are_a_publish_kind_built_from_the_formal_shards():
    shards = ["R/formal/a/shard-0.parquet", "R/formal/b/shard-0.parquet"]
    assert folder_inputs("R", "statements", shards) == {"formal": shards}
    targets = publish_targets(validate_config({}), "R")
    assert "R/publish/statements" in targets
    assert not [t for t in targets if t.startswith("R/exports/statements")]  # nothing to train on
    assert not [t for t in targets if "/hub/" in t]  # pushing is off by default
    json.dumps(targets)
