"""The one summary type: shards add up, a summary round-trips through its file, bad files are
named, and the reader adds the shards of each step."""

import json
from collections import Counter

import pytest

from mathforge.errors import InputError
from mathforge.funnel import StepStats, by_step, read_summaries, read_summary, summary_path


def shard(n_in, n_out, dropped, counters, notes=None) -> StepStats:
    return StepStats("generate_solutions", n_in, n_out, Counter(dropped), counters, notes or {})


def test_shards_of_a_step_add_up_counters_recursively():
    a = shard(2, 8, {"x": 1}, {"errors": 1, "seconds": 0.5, "by_variant": {"tir/high": {"solutions": 4}}})
    b = shard(1, 4, {"x": 2, "y": 1}, {"errors": 0, "seconds": 0.25, "by_variant": {"tir/high": {"solutions": 2},
                                                                                    "plain/low": {"solutions": 2}}})  # fmt: skip
    total = a + b
    assert (total.n_in, total.n_out) == (3, 12)
    assert total.dropped == {"x": 3, "y": 1}
    assert total.counters == {
        "errors": 1, "seconds": 0.75, "by_variant": {"tir/high": {"solutions": 6}, "plain/low": {"solutions": 2}}
    }  # fmt: skip
    assert list(total.counters["by_variant"]) == [
        "tir/high",
        "plain/low",
    ]  # first-seen order (reports keep it)
    assert a.counters["errors"] == 1 and a.dropped == {"x": 1}  # the shards themselves are unchanged


def test_notes_are_kept_where_the_shards_agree():
    a = shard(1, 1, {}, {}, {"n_shards": 2, "shard": 0, "only_a": "x"})
    b = shard(1, 1, {}, {}, {"n_shards": 2, "shard": 1, "only_b": "y"})
    assert (a + b).notes == {"n_shards": 2, "only_a": "x", "only_b": "y"}


def test_adding_different_steps_or_a_count_to_a_note_fails():
    with pytest.raises(ValueError, match="different steps"):
        shard(1, 1, {}, {}) + StepStats("judge_answers")
    with pytest.raises(ValueError, match="counter 'x'"):
        shard(1, 1, {}, {"x": 1}) + shard(1, 1, {}, {"x": {"a": 1}})


def test_a_summary_round_trips_through_its_file(tmp_path):
    stats = shard(3, 2, {"b": 1, "a": 2}, {"requests": {"cached": 1, "seconds": 0.1}}, {"target": "answers"})
    path = tmp_path / "shard-0.summary.json"
    stats.write(path)
    data = json.loads(path.read_text())
    assert list(data) == sorted(["step", "n_in", "n_out", "dropped", "counters", "notes"])
    assert read_summary(path) == stats and StepStats.from_dict(stats.to_dict()) == stats


def test_a_file_that_is_not_a_step_summary_is_named(tmp_path):
    old = tmp_path / "summary.json"
    old.write_text(json.dumps({"target": "answers", "n_in": 1, "n_out": 1, "removed": {}}))
    with pytest.raises(InputError, match=r"summary\.json: not a step summary"):
        read_summary(old)
    broken = tmp_path / "broken.summary.json"
    broken.write_text('{"step": ')
    with pytest.raises(InputError, match=r"broken\.summary\.json:line 1: not JSON"):
        read_summary(broken)


def test_the_reader_adds_each_steps_shards_in_first_seen_order(tmp_path):
    paths = []
    for i, s in enumerate([shard(2, 8, {}, {}), StepStats("ingest", 5, 5), shard(1, 4, {}, {})]):
        paths.append(str(tmp_path / f"{i}.summary.json"))
        s.write(paths[-1])
    steps = by_step(read_summaries(paths))
    assert list(steps) == ["generate_solutions", "ingest"]
    assert steps["generate_solutions"].n_out == 12


def test_every_summary_is_named_after_its_artifact():
    assert summary_path("results/solutions/shard-0.parquet") == "results/solutions/shard-0.summary.json"
    assert summary_path("results/sft/data") == "results/sft/data.summary.json"
