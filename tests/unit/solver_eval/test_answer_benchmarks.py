"""Answer benchmarks: gold answers from the shapes real benchmarks use, and bad input caught with
the file and line before any request."""

import json

import pytest
from conftest import SHARED

from mathforge.config import validate_config
from mathforge.errors import ConfigError, InputError
from mathforge.solver_eval.benchmarks import gold_text, load_answer_benchmark

BENCHMARKS = SHARED / "data" / "benchmarks"


def spec(path, **fields):
    cfg = validate_config({"eval": {"answer_benchmarks": [{"name": "b", "path": str(path), **fields}]}})
    return cfg["eval"]["answer_benchmarks"][0]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.parametrize(
    ("value", "regex", "expected"),
    [
        ("\\frac{1}{2}", None, "\\frac{1}{2}"),
        (142.0, None, "142"),  # AMC stores integers as floats
        (2.5, None, "2.5"),
        (7, None, "7"),
        (["2"], None, "2"),  # OlympiadBench: a list of answers
        (["1", "-1"], None, "1, -1"),
        ("She makes 9 * 2 = $18.\n#### 18", r"####\s*(.+)$", "18"),  # GSM8K
        ("no marker", r"####\s*(.+)$", None),
        ("  ", None, None),
        (None, None, None),
        ([], None, None),
    ],
)
def test_gold_text(value, regex, expected):
    assert gold_text(value, regex) == expected


def test_rows_ids_and_limit(tmp_path):
    path = write_jsonl(tmp_path / "b.jsonl", [{"problem": f"P{i}", "answer": i} for i in range(5)])
    rows = load_answer_benchmark(spec(path, limit=3))
    assert rows == [
        {"problem_id": f"b/{i + 1}", "problem": f"P{i}", "expected_answer": str(i)} for i in range(3)
    ]


@pytest.mark.parametrize(
    ("records", "fields", "where", "message"),
    [
        ([{"problem": "P", "answer": "1"}, {"question": "Q", "answer": "2"}], {}, "line 2", "text field 'problem'"),
        ([{"problem": "P", "answer": "1"}, {"problem": "Q"}], {}, "line 2", "gold answer in 'answer'"),
        ([{"problem": "P", "answer": "x"}], {"answer_regex": "####(.+)"}, "line 1", "matching"),
        (
            [{"id": "a", "problem": "P", "answer": "1"}, {"id": "a", "problem": "Q", "answer": "2"}],
            {"id_field": "id"}, "line 2", "'a' repeats (first at line 1)",
        ),
        ([{"problem": "P", "answer": "1"}, {"problem": "Q", "answer": "2"}], {"id_field": "id"}, "line 1", "an id"),
    ],
)  # fmt: skip
def test_bad_input_names_file_and_line(tmp_path, records, fields, where, message):
    path = write_jsonl(tmp_path / "bad.jsonl", records)
    with pytest.raises(InputError) as err:
        load_answer_benchmark(spec(path, **fields))
    assert err.value.path == str(path) and err.value.where == where and message in str(err.value)


def test_empty_benchmark(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(InputError, match="file is empty"):
        load_answer_benchmark(spec(empty))
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n")
    with pytest.raises(InputError, match="has no problems") as err:
        load_answer_benchmark(spec(blank))
    assert err.value.path == str(blank)


def test_config_checks():
    with pytest.raises(ConfigError, match="unique"):
        validate_config(
            {"eval": {"answer_benchmarks": [{"name": "a", "path": "x"}, {"name": "a", "path": "y"}]}}
        )
    with pytest.raises(ConfigError, match="exactly one of"):
        validate_config({"eval": {"answer_benchmarks": [{"name": "a", "path": "x", "hf_dataset": "y"}]}})
    with pytest.raises(ConfigError, match="exactly one of"):
        validate_config({"eval": {"answer_benchmarks": [{"name": "a"}]}})


@pytest.mark.skipif(not BENCHMARKS.exists(), reason="needs ../shared/data/benchmarks")
@pytest.mark.parametrize(
    ("file", "fields", "first_answer"),
    [
        ("math500.jsonl", {"id_field": "unique_id"}, "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("aime24.jsonl", {"answer_field": "expected_answer", "id_field": "id"}, "73"),
        ("amc.jsonl", {}, "142"),
        ("gsm8k_test.jsonl", {"problem_field": "question", "answer_regex": r"####\s*(.+)$"}, "18"),
        ("olympiad_bench.jsonl", {"id_field": "id"}, "2"),
    ],
)
def test_the_shared_benchmarks_load(file, fields, first_answer):
    rows = load_answer_benchmark(spec(BENCHMARKS / file, **fields))
    assert rows[0]["expected_answer"] == first_answer
    assert len({r["problem_id"] for r in rows}) == len(rows) >= 30
