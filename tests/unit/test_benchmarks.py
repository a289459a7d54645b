"""The benchmark registry: local files, JSON records, package files, HF ids; errors name the place."""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import SHARED

from mathforge.benchmarks import index_hash, load_benchmark, load_benchmarks
from mathforge.config import validate_config
from mathforge.errors import ConfigError, InputError


def spec(**kw):
    cfg = validate_config({"decontam": {"benchmarks": [{"name": "b", **kw}]}})
    return cfg["decontam"]["benchmarks"][0]


def test_jsonl_with_its_own_field_and_ids(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text(
        json.dumps({"question": "Q1?", "uid": "x1"}) + "\n" + json.dumps({"question": "Q2?"}) + "\n"
    )
    items = load_benchmark(spec(path=str(path), field="question", id_field="uid"))
    assert [(i.item_id, i.text) for i in items] == [("x1", "Q1?"), ("line 2", "Q2?")]


def test_json_records_path_and_lean_doc_comments(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"data": {"problems": {"p1": {"text": "/-- Show that $1+1=2$.-/\n"}}}}))
    items = load_benchmark(spec(path=str(path), field="text", records="data.problems"))
    assert [(i.item_id, i.text) for i in items] == [("p1", "Show that $1+1=2$.")]


def test_missing_field_names_file_and_record(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps({"problem": "ok"}) + "\n" + json.dumps({"text": "no"}) + "\n")
    with pytest.raises(InputError, match=r"b\.jsonl:line 2: benchmark 'b': expected a text field 'problem'"):
        load_benchmark(spec(path=str(path), field="problem"))


def test_missing_file_and_bad_records_key(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_benchmark(spec(path=str(tmp_path / "nope.jsonl"), field="problem"))
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"rows": []}))
    with pytest.raises(InputError, match="expected a key 'problems'"):
        load_benchmark(spec(path=str(path), field="problem", records="problems"))


def test_uninstalled_package_is_a_config_error():
    with pytest.raises(ConfigError, match="not installed"):
        load_benchmark(spec(package="mathforge_no_such_pkg", path="x.json", field="problem"))


@pytest.mark.skipif(importlib.util.find_spec("champ_dataset") is None, reason="champ-dataset not installed")
def test_champ_from_its_package():
    items = load_benchmark(
        spec(package="champ_dataset", path="dataset_files/v0.json", records="problems", field="_text")
    )
    assert len(items) == 270 and items[0].item_id == "P_Combinatorics_1"


def test_applies_to_selects_benchmarks_and_hash_tracks_content(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps({"problem": "A?"}) + "\n")
    b.write_text(json.dumps({"problem": "B?"}) + "\n")
    specs = validate_config(
        {"decontam": {"benchmarks": [
            {"name": "a", "path": str(a), "field": "problem", "applies_to": ["answers"]},
            {"name": "b", "path": str(b), "field": "problem", "applies_to": ["proofs"]},
        ]}}
    )["decontam"]["benchmarks"]  # fmt: skip
    assert [i.benchmark for i in load_benchmarks(specs, "answers")] == ["a"]
    before = index_hash(load_benchmarks(specs, "proofs"))
    b.write_text(json.dumps({"problem": "B changed?"}) + "\n")
    assert index_hash(load_benchmarks(specs, "proofs")) != before


@pytest.mark.skipif(not (SHARED / "data" / "benchmarks").exists(), reason="shared benchmarks absent")
def test_shared_benchmark_files_load():
    root = SHARED / "data" / "benchmarks"
    assert len(load_benchmark(spec(path=str(root / "gsm8k_test.jsonl"), field="question"))) == 1319
    minif2f = load_benchmark(
        spec(path=str(root / "minif2f_test.jsonl"), field="informal_prefix", id_field="name")
    )
    assert len(minif2f) == 244 and not minif2f[0].text.startswith("/--")


def test_hub_benchmark_fails_with_a_clear_message_when_it_cannot_load(monkeypatch):
    # This machine has no hub access: the error names the benchmark and the dataset id.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(
        ConfigError, match=r"(benchmark 'b': cannot load 'someone/no-such-set'|pip install datasets)"
    ):
        load_benchmark(spec(hf_dataset="someone/no-such-set", split="test", field="problem"))
