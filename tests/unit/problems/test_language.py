"""Language identification (the real bundled fastText model), routing, LLM translation against the
scripted stub (kept original, lost math dropped, resumable from the request store), and the
subject labels of classify_problems reaching the merged problems and their summary."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import summary_fields

from mathforge.config import validate_config
from mathforge.io import write_parquet
from mathforge.problems.classify import classify_problems
from mathforge.problems.language import UNDETERMINED, detect_language, strip_math
from mathforge.problems.merge import label_counts
from mathforge.problems.translate import detect_languages, route_of, translation_problem
from mathforge.schemas.problems import CLASSIFIED_SCHEMA, EXTRACTED_SCHEMA, LANGUAGE_SCHEMA
from mathforge.text import parse_choice

FR = "Soit $n$ un entier naturel. Montrer que $n^3-n$ est divisible par $6$."
VI = "Tìm tất cả các số nguyên dương $n$ sao cho $2^n+1$ chia hết cho $n^2$."
DE = "Man bestimme alle reellen Zahlen $x$, für die $\\sqrt{x+2}=x$ gilt."
EN = "Find all primes $p$ such that $p^2+2$ is also prime."
MATH_ONLY = "$\\int_0^1 x^2\\,dx = ?$"
FR_EN = "Let $n$ be a natural number. Show that $n^3-n$ is divisible by $6$."

SCRIPT = {
    "rules": [
        # translations: the last user message is "Language: <code>\nProblem:\n<text>"
        {"contains": "Soit $n$", "reply": FR_EN},
        # loses the "+1": dropped as translation:lost_math
        {"contains": "Tìm tất cả", "reply": "Find all positive integers $n$ such that $2^n$ divides $n^2$."},
        # subjects (the last user message is the bare problem)
        {"contains": "Let $n$ be", "reply": "Number Theory"},
        {"contains": "Find all primes", "reply": "**Number Theory**"},
        {"contains": "Compute the area", "reply": "Geometry"},
        {"contains": "Prove that", "reply": "proof"},
        {"contains": "Wibble", "reply": "I cannot tell."},
    ],
    "default_reply": "other",
}


def _problem(pid: str, text: str, source: str = "forum") -> dict:
    return {"problem_id": pid, "problem": text, "problem_index": 0, "thread_uid": f"t-{pid}", "source": source,
            "site": "example.org", "thread_id": pid, "post_id": pid, "license": "CC0-1.0", "authors": [],
            "truncated": []}  # fmt: skip


@pytest.fixture
def env(tmp_path, stub_server):
    server = stub_server(SCRIPT)
    cfg = validate_config(
        {
            "problems": {"language": {"enabled": True, "route": {"en": "keep", "de": "drop"}}},
            "inference": {"backend": "openai", "model": "stub",
                          "openai": {"base_urls": [server.base_url], "api_key_env": None}},
        }
    )  # fmt: skip
    rows = [
        _problem("fr", FR),
        _problem("vi", VI),
        _problem("de", DE),
        _problem("en", EN),
        _problem("m", MATH_ONLY),
    ]
    write_parquet(pa.Table.from_pylist(rows, schema=EXTRACTED_SCHEMA), tmp_path / "ext.parquet")
    return cfg, server


def test_strip_math_leaves_only_the_prose():
    assert strip_math(FR) == "Soit un entier naturel Montrer que est divisible par"
    assert strip_math("Find \\(x\\) with \\[x^2=4\\] and \\textbf{all} $$y$$.") == "Find with and all"
    assert strip_math(MATH_ONLY) == ""


@pytest.mark.parametrize(("text", "code"), [(FR, "fr"), (VI, "vi"), (DE, "de"), (EN, "en")])
def test_the_bundled_model_detects_the_language_of_math_problems(text, code):
    found = detect_language(text)
    assert found.language == code and 0.5 < found.confidence <= 1.0


def test_a_problem_that_is_all_math_is_undetermined():
    assert detect_language(MATH_ONLY).language == UNDETERMINED
    cfg = {"min_confidence": 0.5, "uncertain_route": "keep", "route": {"en": "keep"}, "default_route": "drop"}
    assert route_of(UNDETERMINED, 0.0, cfg) == "keep"
    assert route_of("fr", 0.4, cfg) == "keep"
    assert route_of("fr", 0.9, cfg) == "drop"
    assert route_of("en", 0.9, cfg) == "keep"


LANG_CFG = {"check_translation": True, "target": "en", "min_letters": 3, "min_confidence": 0.5}


def test_a_translation_must_keep_the_numbers_and_operations_and_be_in_english():
    assert translation_problem({"text": FR_EN, "finish_reason": "stop"}, FR, LANG_CFG) == (FR_EN, None, None)
    text, reason, detail = translation_problem({"text": "Show $n^2-n$ is divisible by $6$."}, FR, LANG_CFG)
    assert text is None and reason == "translation:lost_math" and detail.startswith("3 in $n^3-n$")
    assert translation_problem({"text": FR_EN, "finish_reason": "length"}, FR, LANG_CFG)[1] == (
        "translation:cut_by_token_limit"
    )
    assert translation_problem({"error": "400"}, FR, LANG_CFG)[1] == "translation:request_rejected"
    # the original copied back: every number kept, but not translated
    text, reason, detail = translation_problem({"text": FR}, FR, LANG_CFG)
    assert (text, reason) == (None, "translation:not_translated") and detail.startswith("fr (")
    assert translation_problem({"text": FR}, FR, {**LANG_CFG, "check_translation": False})[0] == FR


def _run(cfg, tmp_path):
    return detect_languages(str(tmp_path / "ext.parquet"), cfg, tmp_path / "lang.parquet",
                            tmp_path / "lang.dropped.parquet", tmp_path / "lang.json", tmp_path / "store.jsonl")  # fmt: skip


def test_detect_language_routes_translates_and_keeps_the_original(env, tmp_path):
    cfg, server = env
    stats = _run(cfg, tmp_path)
    table = pq.read_table(tmp_path / "lang.parquet")
    assert table.schema.equals(LANGUAGE_SCHEMA)
    rows = {r["problem_id"]: r for r in table.to_pylist()}
    assert set(rows) == {"fr", "en", "m"}
    assert rows["fr"]["problem"] == FR_EN and rows["fr"]["original_problem"] == FR
    assert rows["fr"]["language"] == "fr" and rows["fr"]["translation"]["prompt_name"] == "translate_problem"
    assert rows["en"]["problem"] == EN and rows["en"]["original_problem"] is None
    assert rows["m"]["language"] == UNDETERMINED
    dropped = {d["problem_id"]: d for d in pq.read_table(tmp_path / "lang.dropped.parquet").to_pylist()}
    assert dropped["de"]["reason"] == "language:de"
    assert dropped["vi"]["reason"] == "translation:lost_math" and dropped["vi"]["problem"] == VI
    assert stats.dropped == {"language:de": 1, "translation:lost_math": 1}
    written = summary_fields(tmp_path / "lang.json")
    assert written["languages"] == {"de": 1, "en": 1, "fr": 1, UNDETERMINED: 1, "vi": 1}
    assert written["translated"] == 1 and written["n_in"] == 5 and written["n_out"] == 3
    # Resumable: a rerun answers every translation from the request store.
    sent = server.stats()["requests"]
    assert _run(cfg, tmp_path).counters["requests"]["cached"] == 2
    assert server.stats()["requests"] == sent


def test_parse_choice_reads_the_last_label_named():
    labels = ["Algebra", "Logic and Puzzles", "Other"]
    assert parse_choice("**logic and puzzles**", labels) == "Logic and Puzzles"
    assert parse_choice("Not Algebra; it is Other.", labels) == "Other"
    assert parse_choice("Geometry", labels) is None


def test_classify_sets_question_and_problem_types_and_drops_configured_subjects(env, tmp_path):
    cfg, _server = env
    cfg["problems"]["problem_type"].update(enabled=True, drop=["Geometry"])
    rows = [_problem("a", EN), _problem("b", "Compute the area of a unit square.", "other_source"),
            _problem("c", "Prove that $n^2 \\ge 0$."), _problem("d", "Wibble wobble.")]  # fmt: skip
    write_parquet(pa.Table.from_pylist(rows, schema=EXTRACTED_SCHEMA), tmp_path / "in.parquet")
    out = {k: tmp_path / f"{k}.parquet" for k in ("cls", "proofs", "dropped")}
    stats = classify_problems(str(tmp_path / "in.parquet"), cfg, out["cls"], out["proofs"], out["dropped"],
                              tmp_path / "cls.json", tmp_path / "store.jsonl")  # fmt: skip
    kept = pq.read_table(out["cls"])
    assert kept.schema.equals(CLASSIFIED_SCHEMA)
    by_id = {r["problem_id"]: r for r in [*kept.to_pylist(), *pq.read_table(out["proofs"]).to_pylist()]}
    assert by_id["a"]["problem_type"] == "Number Theory" and by_id["a"]["question_type"] == "answer"
    assert by_id["c"]["question_type"] == "proof" and by_id["c"]["problem_type"] is None  # "proof": no label
    assert (
        by_id["d"]["problem_type"] is None and by_id["d"]["problem_typing"]["raw_output"] == "I cannot tell."
    )
    assert by_id["a"]["language"] is None  # detect_language did not run on this input
    assert stats.dropped == {"problem_type:Geometry": 1}
    assert stats.counters["problem_type_unparseable"] == 2
    counts = label_counts(list(by_id.values()))
    assert counts["problem_type"] == {"forum": {"Number Theory": 1, "none": 2}}
    assert counts["question_type"] == {"forum": {"answer": 2, "proof": 1}}
