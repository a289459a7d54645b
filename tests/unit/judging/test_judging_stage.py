"""judge_answers and fill_majority_answer on hand-made solution shards, with the LLM judge on the stub."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import openai_inference_config, summary_fields

from mathforge.config import validate_config
from mathforge.funnel import read_summary
from mathforge.grading.judge import parse_judgement
from mathforge.io import write_parquet
from mathforge.judging.stage import majority_stage
from mathforge.judging.stage import run as judge_stage
from mathforge.schemas.judged import FINAL_JUDGED_SCHEMA, JUDGED_SCHEMA, MAJORITY_SCHEMA
from mathforge.schemas.solutions import SOLUTIONS_SCHEMA


def solution(pid, expected, predicted, mode="plain", effort="high", seed=0):
    row = {name: None for name in SOLUTIONS_SCHEMA.names}
    row.update(
        problem_id=pid, problem=f"Problem {pid}", expected_answer=expected, mode=mode, effort=effort,
        seed=seed, sample_index=seed, generation=f"... \\boxed{{{predicted}}}" if predicted else "no answer",
        predicted_answer=predicted, finish_reason="stop", completion_tokens=100, num_llm_calls=1,
        num_code_executions=0, code_cells=[], sandbox_isolation=[],
    )  # fmt: skip
    return row


SOLUTIONS = [
    # p1: the forum answer 1/2 is confirmed by spellings the exact-string vote would split
    *[
        solution("p1", "1/2", a, seed=i)
        for i, a in enumerate(["0.5", "\\frac{1}{2}", "3", "3", "3", "1/2", "0.5"])
    ],
    # p2: no forum answer -> the majority (7) becomes the answer
    *[solution("p2", None, a, seed=i) for i, a in enumerate(["7", "7", "7.0", "8", None, "9"])],
    # p3: every solution contradicts the forum answer -> replaced by the majority
    *[solution("p3", "100", a, seed=i) for i, a in enumerate(["12", "12", "12", "13", "14", "12"])],
    # p4: no reliable majority and no forum answer -> null
    *[solution("p4", None, a, seed=i) for i, a in enumerate(["1", "2", "3", "4", "5", None])],
    # p5: worded answers need the LLM judge
    *[solution("p5", "Yes", a, seed=i) for i, a in enumerate(["yes it is", "no", "Yes"])],
]
SCRIPT = {
    "rules": [
        {"contains": "Predicted answer: yes it is", "reply": "Both affirm.\nJudgement: Yes"},
        {"contains": "Predicted answer: no", "reply": "They differ. Judgement: maybe"},
    ]
}


@pytest.fixture
def env(tmp_path, stub_server):
    stub = stub_server(SCRIPT)
    cfg = validate_config({"inference": openai_inference_config(stub.base_url)})
    write_parquet(pa.Table.from_pylist(SOLUTIONS, schema=SOLUTIONS_SCHEMA), tmp_path / "solutions.parquet")
    return cfg, stub, tmp_path


def run_both(cfg, tmp):
    judge_stage(
        str(tmp / "solutions.parquet"),
        cfg,
        str(tmp / "judged.parquet"),
        str(tmp / "j.json"),
        str(tmp / "j.jsonl"),
    )
    majority_stage(str(tmp / "judged.parquet"), cfg, str(tmp / "majority.parquet"), str(tmp / "final.parquet"),
                   str(tmp / "m.json"), str(tmp / "m.jsonl"))  # fmt: skip
    return (
        pq.read_table(tmp / "judged.parquet"),
        pq.read_table(tmp / "majority.parquet"),
        pq.read_table(tmp / "final.parquet"),
        summary_fields(tmp / "m.json"),
    )


def test_judge_vote_repair_and_rejudge(env):
    cfg, _stub, tmp = env
    judged, majority, final, summary = run_both(cfg, tmp)
    assert judged.schema.equals(JUDGED_SCHEMA) and final.schema.equals(FINAL_JUDGED_SCHEMA)
    assert majority.schema.equals(MAJORITY_SCHEMA)
    j = {(r["problem_id"], r["seed"]): r for r in judged.to_pylist()}
    assert [j[("p1", i)]["judgement"] for i in range(7)] == [True, True, False, False, False, True, True]
    assert j[("p1", 0)]["judge_method"] == "symbolic" and j[("p1", 5)]["judge_method"] == "exact"
    assert j[("p2", 0)]["judgement"] is None and j[("p2", 0)]["judge_method"] == "no_expected"
    assert (j[("p5", 0)]["judgement"], j[("p5", 0)]["judge_method"]) == (True, "llm")
    assert (j[("p5", 1)]["judgement"], j[("p5", 1)]["judge_method"]) == (False, "llm_unparseable")
    assert j[("p5", 0)]["judge_meta"]["prompt_name"] == "judge_answer"
    assert (j[("p5", 2)]["judgement"], j[("p5", 2)]["judge_method"]) == (True, "exact")

    m = {r["problem_id"]: r for r in majority.to_pylist()}
    assert (m["p1"]["expected_answer"], m["p1"]["answer_rule"], m["p1"]["majority_answer"]) == (
        "1/2",
        "forum_agrees",
        "0.5",
    )
    assert m["p1"]["majority_votes"] == 4 and m["p1"]["forum_agreeing"] == 4
    assert (m["p2"]["expected_answer"], m["p2"]["answer_rule"], m["p2"]["majority_votes"]) == (
        "7",
        "no_forum_answer",
        3,
    )
    assert (m["p3"]["expected_answer"], m["p3"]["answer_rule"]) == ("12", "forum_contradicted")
    assert (m["p4"]["expected_answer"], m["p4"]["answer_rule"], m["p4"]["majority_status"]) == (
        None, "no_reliable_answer", "below_min_votes")  # fmt: skip
    assert m["p3"]["solve_rate"] == pytest.approx(4 / 6) and m["p1"]["n_correct"] == 4
    assert m["p3"]["solve_rates"] == [
        {"variant": "plain/high", "solutions": 6, "correct": 4, "rate": pytest.approx(4 / 6)}
    ]

    f = {(r["problem_id"], r["seed"]): r for r in final.to_pylist()}
    assert [f[("p2", i)]["judgement"] for i in range(6)] == [True, True, True, False, False, False]
    assert f[("p2", 4)]["judge_method"] == "missing"
    assert [f[("p3", i)]["judgement"] for i in range(6)] == [True, True, True, False, False, True]
    assert all(
        f[("p3", i)]["forum_judgement"] is False and f[("p3", i)]["forum_answer"] == "100" for i in range(6)
    )
    assert all(f[("p4", i)]["judgement"] is None for i in range(6))
    assert summary["answer_rule"] == {
        "forum_agrees": 2,
        "no_forum_answer": 1,
        "forum_contradicted": 1,
        "no_reliable_answer": 1,
    }
    assert summary["dropped"] == {"no_reliable_answer": 1}
    by_variant = summary["correct_by_variant"]
    assert sum(v["solutions"] for v in by_variant.values()) == summary["solutions"] == len(f)
    assert sum(v["correct"] for v in by_variant.values()) == summary["correct_solutions"]
    assert summary["correct_solutions"] == sum(bool(r["judgement"]) for r in f.values())
    assert sum(v["judged"] for v in by_variant.values()) == sum(
        r["judgement"] is not None for r in f.values()
    )


def test_rerun_sends_no_new_judge_requests_and_difficulty_filter_marks_problems(env):
    cfg, stub, tmp = env
    run_both(cfg, tmp)
    sent = stub.stats()["requests"]
    cfg["answers"]["difficulty"] = {"min_solve_rate": 0.1, "max_solve_rate": 0.9}
    _, majority, _, summary = run_both(cfg, tmp)
    assert stub.stats()["requests"] == sent
    ok = {r["problem_id"]: r["difficulty_ok"] for r in majority.to_pylist()}
    assert ok == {"p1": True, "p2": True, "p3": True, "p4": False, "p5": True}
    assert summary["n_out"] == 4


def test_without_the_llm_judge_undecided_answers_count_as_wrong(env):
    cfg, stub, tmp = env
    cfg["answers"]["judge"]["enabled"] = False
    judged, *_ = run_both(cfg, tmp)
    p5 = [r for r in judged.to_pylist() if r["problem_id"] == "p5"]
    assert [(r["judgement"], r["judge_method"]) for r in p5] == [
        (False, "undecided_text"), (False, "undecided_text"), (True, "exact")]  # fmt: skip
    assert stub.stats()["requests"] == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Judgement: Yes", True),
        ("judgment: no.", False),
        ("Judgement: No\nWait, actually Judgement: **Yes**", True),
        ("I think they match.", None),
        ("Judgement: perhaps", None),
    ],
)
def test_parse_judgement_reads_the_last_one(text, expected):
    assert parse_judgement(text) is expected


def test_a_statement_that_states_the_final_answer_is_dropped(env):
    cfg, _stub, tmp = env
    # p6: no forum answer; the statement ends with the value the majority finds (a copied reply)
    # p7: the forum answer, confirmed by the solutions, closes the statement
    # p8: the answer is a given quantity of the statement, not stated as its value: kept
    rows = [
        *[{**solution("p6", None, "7", seed=i), "problem": "Compute $3+4$.\n$3 + 4 = 7$"} for i in range(3)],
        *[
            {**solution("p7", "12", "12", seed=i), "problem": "Find $3 \\cdot 4$. It is $12$."}
            for i in range(2)
        ],
        *[{**solution("p8", "5", "5", seed=i), "problem": "A bag has 5 balls. How many?"} for i in range(2)],
    ]
    write_parquet(pa.Table.from_pylist(rows, schema=SOLUTIONS_SCHEMA), tmp / "solutions.parquet")
    _, majority, _, summary = run_both(cfg, tmp)
    m = {r["problem_id"]: r for r in majority.to_pylist()}
    assert m["p6"]["answer_in_statement"] == "= 7 closes the statement"
    assert m["p7"]["answer_in_statement"] == "'is 12' closes the statement"
    assert m["p8"]["answer_in_statement"] is None
    assert (m["p6"]["expected_answer"], m["p7"]["expected_answer"]) == ("7", "12")  # kept, for the record
    assert summary["dropped"] == {"answer_in_statement": 2} and summary["n_out"] == 1


def rewrite(pid, predicted, status):
    from mathforge.schemas.judged import FORUM_COT_SCHEMA

    row = {name: None for name in FORUM_COT_SCHEMA.names}
    row.update(problem_id=pid, problem=f"Problem {pid}", predicted_answer=predicted, forum_cot_status=status,
               mode="forum_cot", generation=f"\\boxed{{{predicted}}}", finish_reason="stop")  # fmt: skip
    return row


def test_rewrite_ballots_vote_and_are_counted_apart_in_the_majority_summary(env):
    from mathforge.schemas.judged import FORUM_COT_SCHEMA, MAJORITY_VOTES_SCHEMA, REWRITE_VOTED

    cfg, _stub, tmp = env
    _, plain, plain_final, plain_summary = run_both(cfg, tmp)
    rewrites = [
        rewrite("p4", "1", REWRITE_VOTED),  # p4: 1..5 one vote each; the ballot makes 1 the majority
        rewrite("p2", "8", REWRITE_VOTED),  # p2: 7 has 3 votes; a ballot for 8 changes nothing
        rewrite("p3", None, "no_boxed_answer"),  # no ballot: not in the vote or its total
        rewrite("p1", "1/2", "unfinished"),  # cut by the token limit: no ballot either
    ]
    write_parquet(pa.Table.from_pylist(rewrites, schema=FORUM_COT_SCHEMA), tmp / "rewrites.parquet")
    majority_stage(str(tmp / "judged.parquet"), cfg, str(tmp / "vm.parquet"), str(tmp / "vf.parquet"),
                   str(tmp / "vm.json"), str(tmp / "vm.jsonl"), [str(tmp / "rewrites.parquet")])  # fmt: skip
    voted = pq.read_table(tmp / "vm.parquet")
    assert voted.schema.equals(MAJORITY_VOTES_SCHEMA)
    m = {r["problem_id"]: r for r in voted.to_pylist()}
    assert (m["p4"]["expected_answer"], m["p4"]["answer_rule"], m["p4"]["majority_votes"]) == (
        "1", "no_forum_answer", 2)  # fmt: skip
    assert (m["p4"]["rewrite_votes"], m["p4"]["rewrite_changed_answer"]) == (1, True)
    assert (m["p2"]["expected_answer"], m["p2"]["rewrite_votes"], m["p2"]["rewrite_changed_answer"]) == (
        "7", 1, False)  # fmt: skip
    assert [c["votes"] for c in m["p2"]["vote_classes"]] == [3, 2, 1]  # 8 got the ballot
    assert (m["p3"]["rewrite_votes"], m["p3"]["rewrite_changed_answer"]) == (0, None)
    assert m["p4"]["n_solutions"] == 6  # the ballot is not a solution: solve rates count solutions only
    summary = read_summary(tmp / "vm.json").counters
    assert summary["rewrite_votes"] == {
        "rewrites": 4, "ballots": 2, "without_ballot": 2, "changed_majority": 1, "changed_expected_answer": 1,
    }  # fmt: skip
    assert summary["answer_rule"]["no_forum_answer"] == 2
    assert "no_reliable_answer" not in read_summary(tmp / "vm.json").dropped
    # p4's solutions are now judged against the voted answer: its one "1" is correct
    final = [r for r in pq.read_table(tmp / "vf.parquet").to_pylist() if r["problem_id"] == "p4"]
    assert [r["judgement"] for r in final] == [True, False, False, False, False, False]
    # without rewrite shards the stage writes exactly what it wrote before the option existed
    assert plain.schema.equals(MAJORITY_SCHEMA) and "rewrite_votes" not in plain_summary
    majority_stage(str(tmp / "judged.parquet"), cfg, str(tmp / "m2.parquet"), str(tmp / "f2.parquet"),
                   str(tmp / "m2.json"), str(tmp / "m2.jsonl"), [])  # fmt: skip
    assert (tmp / "m2.parquet").read_bytes() == (tmp / "majority.parquet").read_bytes()
    assert pq.read_table(tmp / "f2.parquet").equals(plain_final)
