"""The SFT writer split in parts: write_sft_part per solutions shard, write_sft_shards assembling
them. Split into parts, the same rows give what one part holding them all gives (the global run):
the same shipped rows and files, hygiene report, manifest, summary and card; a conversation in two
parts ships once and is counted; a row that must never ship fails its part's job; the assembly
refuses shards that are not the parts' rows."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sft_runs import run_assembly, run_part_job, write_part_inputs
from test_sft_hygiene import INVENTED, TIR_TEXT, problem_row, sol

import mathforge.sft.assemble as assemble
from mathforge.config import validate_config
from mathforge.funnel import read_summary
from mathforge.hygiene.audit import SFTAuditError

SAME = "What is $6 \\cdot 7 + 1$?"  # p1, p4 (same part) and p5 (the other part): one conversation
OTHER = {"p2": "Compute $43 \\cdot 1$.", "p3": "Compute $40 + 3$.", "p6": "Compute $86 / 2$."}
PART_A = [
    sol("p1", seed=0), sol("p1", seed=1, generation="Thus \\boxed{43}.", completion_tokens=300),
    sol("p1", seed=2, mode="tir", generation=TIR_TEXT), sol("p2", seed=0, generation=INVENTED, problem=OTHER["p2"]),
    sol("p3", seed=0, effort="low", problem=OTHER["p3"]), sol("p4", seed=0),
]  # fmt: skip
PART_B = [
    sol("p5", seed=0), sol("p6", seed=0, problem=OTHER["p6"]),
    sol("p6", seed=1, generation="Hence \\boxed{43}.", problem=OTHER["p6"], completion_tokens=300),
    sol("p6", seed=2, mode="tir", generation=TIR_TEXT, problem=OTHER["p6"]),
]  # fmt: skip


def problems(solutions: list[dict]) -> list[dict]:
    texts = {s["problem_id"]: s["problem"] for s in solutions}
    return [problem_row(pid, problem=texts[pid]) for pid in sorted(texts)]


@pytest.fixture
def cfg(tmp_path):
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"problem": "An unrelated benchmark problem about triangles."}) + "\n")
    benchmarks = [{"name": "bench", "path": str(bench), "field": "problem"}]
    return validate_config(
        {"sft": {"shard_rows": 2, "length_buckets": [200]}, "decontam": {"benchmarks": benchmarks}}
    )


def run_parts(cfg, out, *parts: list[dict], removed=()):
    """Each of `parts` as one write_sft_part job, then the assembly: (stats, rows, hygiene)."""
    inputs = []
    for k, solutions in enumerate(parts):
        pids = [p["problem_id"] for p in problems(solutions)]
        inputs.append(
            write_part_inputs(out / "in" / f"shard-{k}", solutions, problems(solutions), pids, removed)
        )
    paths = [run_part_job(cfg, i, out) for i in inputs]
    return run_assembly(cfg, paths, [i["majority"] for i in inputs], out)


def outputs(out) -> dict:
    files = {
        str(p.relative_to(out)): pq.read_table(p).to_pylist()
        for p in sorted((out / "data").rglob("*.parquet"))
    }
    summary = read_summary(out / "data.summary.json").to_dict()
    texts = {name: (out / name).read_text() for name in ("manifest.json", "hygiene.json", "card.md")}
    return {"files": files, "summary": summary, **texts}


@pytest.mark.parametrize("flush_bytes", [assemble.FLUSH_BYTES, 1])
def test_parts_add_up_to_one_global_run(cfg, tmp_path, monkeypatch, flush_bytes):
    run_parts(cfg, tmp_path / "global", PART_A + PART_B)
    monkeypatch.setattr(assemble, "FLUSH_BYTES", flush_bytes)  # 1: every part's rows written as they come
    stats, rows, hygiene = run_parts(cfg, tmp_path / "parts", PART_A, PART_B)
    assert outputs(tmp_path / "parts") == outputs(tmp_path / "global")
    assert stats.step == "write_sft_shards" and stats.n_in == len(PART_A + PART_B) == 10
    assert stats.n_out == len(rows) == 7 and hygiene["shipped_audit"]["checked"] == 7
    manifest = json.loads((tmp_path / "parts" / "manifest.json").read_text())["variants"]
    assert manifest["high_without_tool"] == {
        "le200": {"rows": 2, "files": ["high_without_tool/le200/shard-00000.parquet"]},
        "gt200": {"rows": 2, "files": ["high_without_tool/gt200/shard-00000.parquet"]},
    }  # p1 and p6's seed 0 (p4 and p5 are duplicates of p1), and their seed 1 in the long bucket
    assert manifest["high_with_tool"]["le200"]["rows"] == 2 and manifest["medium_with_tool"] == {}


def test_a_conversation_in_two_parts_ships_once_and_is_counted(cfg, tmp_path):
    stats, rows, hygiene = run_parts(cfg, tmp_path, PART_A, PART_B)
    assert "p5" not in {r["problem_id"] for r in rows} and "p1" in {r["problem_id"] for r in rows}
    # p5 is kept by its own part (nothing to compare with there) ...
    assert "p5" in pq.read_table(tmp_path / "parts" / "shard-1.parquet").column("problem_id").to_pylist()
    assert read_summary(tmp_path / "parts" / "shard-1.summary.json").dropped == {}
    # ... and dropped once by the assembly, counted like p4 (a duplicate within part A)
    assert stats.dropped == {"duplicate_messages": 2, "invented_tool_output": 1}
    assert stats.counters["variants"]["high_without_tool"]["dropped:duplicate_messages"] == 2
    assert hygiene["variants"]["high_without_tool"]["failing"]["duplicate_messages"] == 2
    assert hygiene["total"]["shipped"] == len(rows) == 7


def test_without_dedup_the_conversation_ships_from_both_parts(cfg, tmp_path):
    cfg["sft"]["dedup"] = False
    stats, rows, hygiene = run_parts(cfg, tmp_path, PART_A, PART_B)
    assert {"p1", "p4", "p5"} <= {r["problem_id"] for r in rows} and stats.dropped == {
        "invented_tool_output": 1
    }
    assert hygiene["settings"]["dedup"] is False and hygiene["shipped_audit"]["checked"] == len(rows) == 9


def test_a_row_that_must_never_ship_fails_its_part_job(cfg, tmp_path):
    inputs = write_part_inputs(tmp_path / "in" / "shard-1", PART_B, problems(PART_B), ["p5", "p6"], ["p6"])
    with pytest.raises(SFTAuditError, match=r"problem p6 .*removed by decontamination"):
        run_part_job(cfg, inputs, tmp_path)
    assert not (tmp_path / "parts").exists() or not list((tmp_path / "parts").iterdir())


def test_shards_that_are_not_the_parts_rows_fail_the_assembly(cfg, tmp_path, monkeypatch):
    write_data = assemble.write_data

    def one_key_changed(parts, keep, root, shard_rows):
        manifest, dropped = write_data(parts, keep, root, shard_rows)
        path = root / manifest["high_with_tool"]["le200"]["files"][0]
        table = pq.read_table(path)
        keys = pc.if_else(pc.equal(table["problem_id"], "p6"), pa.scalar("changed"), table["request_key"])
        pq.write_table(
            table.set_column(table.schema.get_field_index("request_key"), "request_key", keys), path
        )
        return manifest, dropped

    monkeypatch.setattr(assemble, "write_data", one_key_changed)
    with pytest.raises(
        assemble.SFTAssemblyError, match=r"high_with_tool/le200: 2 rows in the parts, 2 written"
    ):
        run_parts(cfg, tmp_path, PART_A, PART_B)
    assert not (tmp_path / "data").exists() and not list(tmp_path.glob(".data.tmp-*"))
