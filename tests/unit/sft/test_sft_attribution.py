"""SFT rows keep license / source_url / authors; the card states the licences (rows per licence)
and how attribution is given; trimming after the answer is recorded on the row and counted."""

from __future__ import annotations

import pytest

from mathforge.config import validate_config
from mathforge.funnel import StepStats
from mathforge.hygiene.audit import AuditResult
from mathforge.hygiene.report import hygiene_report
from mathforge.schemas.solutions import SOLUTIONS_SCHEMA
from mathforge.sft.card import write_card
from mathforge.sft.proofs import build_proof_rows
from mathforge.sft.stage import SFT_SCHEMA, build_rows

SE_AUTHORS = [
    {"role": "question", "post_id": "10", "user_id": "7", "name": None, "license": "CC BY-SA 3.0"},
    {"role": "answer", "post_id": "13", "user_id": None, "name": "gone (deleted)", "license": "CC BY-SA 4.0"},
]
PROBLEMS = {
    p: {"problem_id": p, "difficulty_ok": True, "solve_rate": 0.5, "expected_answer": "43"}
    for p in ("p1", "p2")
}


NO_AUDIT = hygiene_report(AuditResult(), AuditResult(), [], {})


def sol(pid: str, seed: int = 0, **kw: object) -> dict:
    row = {name: None for name in SOLUTIONS_SCHEMA.names}
    row.update(
        problem_id=pid, problem="What is 6*7+1?", expected_answer="43", mode="plain", effort="high", seed=seed,
        generation=f"Try {seed}: So \\boxed{{43}}.", finish_reason="stop", completion_tokens=100, code_cells=[],
        prompt_name="solve_plain", judgement=True, answer_rule="forum_agrees", model="m", request_key=f"k{pid}{seed}",
    )  # fmt: skip
    row.update(kw)
    return row


@pytest.fixture
def cfg() -> dict:
    return validate_config({"sft": {"length_buckets": [], "shard_rows": 10}})


def test_sft_rows_carry_licence_url_and_authors(cfg):
    se = sol("p1", source="se", license="CC BY-SA 3.0", source_url="https://math.stackexchange.com/q/10",
             authors=SE_AUTHORS)  # fmt: skip
    own = sol("p2", source="byo", license="unknown", source_url=None, authors=[])
    rows, stats = build_rows([se, own], PROBLEMS, cfg)
    by = {r["problem_id"]: r for r in rows}
    assert {"license", "source_url", "authors"} <= set(SFT_SCHEMA.names)
    assert by["p1"]["source_url"] == "https://math.stackexchange.com/q/10"
    assert by["p1"]["authors"] == SE_AUTHORS and by["p1"]["license"] == "CC BY-SA 3.0"
    assert (by["p2"]["source_url"], by["p2"]["authors"], by["p2"]["license"]) == (None, [], "unknown")
    assert stats.counters["licenses"] == {"CC BY-SA 3.0": 1, "unknown": 1}


def test_trimming_after_the_answer_is_recorded_and_counted(cfg):
    text = "So \\boxed{43}.\nAnd more rambling."
    (row,), stats = build_rows([sol("p1", generation=text, license="l")], PROBLEMS, cfg)
    assert row["generation"] == "So \\boxed{43}."
    assert row["truncated"] == [{"field": "generation", "original_chars": len(text), "kept_chars": 14,
                                 "original_posts": None, "kept_posts": None}]  # fmt: skip
    assert stats.counters["truncated"] == {"generation": {"rows": 1, "chars_cut": len(text) - 14}}
    assert stats.dropped == {}


def test_card_states_licences_and_attribution(cfg, tmp_path):
    _rows, stats = build_rows(
        [sol("p1", license="CC BY-SA 3.0", source_url="u", authors=SE_AUTHORS), sol("p2", license="unknown"),
         sol("p2", seed=1, license="unknown")],
        PROBLEMS, cfg,
    )  # fmt: skip
    card = tmp_path / "card.md"
    write_card(str(card), cfg, stats, {}, [p["solve_rate"] for p in PROBLEMS.values()], {}, NO_AUDIT)
    text = card.read_text()
    assert "## Licences and attribution" in text
    assert "| CC BY-SA 3.0 | 1 |" in text and "| unknown | 2 |" in text
    assert "`source_url`" in text and "`authors`" in text


def test_card_funnel_shows_ingest_truncation_as_a_note(cfg, tmp_path):
    ingest = StepStats("ingest", 3, 3, counters={
        "truncated": {"forum_post": {"rows": 1, "chars_cut": 4984000},
                      "forum_discussions": {"rows": 0, "chars_cut": 0, "posts_cut": 0}}})  # fmt: skip
    _rows, stats = build_rows([], PROBLEMS, cfg)
    card = tmp_path / "card.md"
    write_card(
        str(card), cfg, stats, {}, [p["solve_rate"] for p in PROBLEMS.values()], {"ingest": ingest}, NO_AUDIT
    )
    line = next(x for x in card.read_text().splitlines() if x.startswith("| ingest |"))
    assert "truncated (kept, not dropped): forum_post 1 rows, 4984000 chars cut" in line


def test_proof_sft_rows_carry_licence_url_and_authors(cfg):
    attempt = {
        "statement_id": "s1", "problem_id": "p1", "problem": "p", "formal_statement": "theorem t : True :=",
        "lean_header": "", "proof": "theorem t : True := trivial", "attempt": 0, "source": "se",
        "license": "CC BY-SA 3.0", "source_url": "https://math.stackexchange.com/q/10", "authors": SE_AUTHORS,
        "model": "m", "seed": 0, "verified": True, "verified_turn": 1, "completion_tokens": 10,
        "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}],
    }  # fmt: skip
    (row,), stats = build_proof_rows([attempt], cfg)
    assert (row["license"], row["source_url"], row["authors"]) == (
        "CC BY-SA 3.0",
        "https://math.stackexchange.com/q/10",
        SE_AUTHORS,
    )
    assert stats.counters["licenses"] == {"CC BY-SA 3.0": 1}
