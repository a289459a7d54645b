"""rewrite_forum_solutions on hand-made shards with the rewrite and judge on the stub, and the
forum_cot rows in the SFT shards."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import openai_inference_config, summary_fields

from mathforge.config import validate_config
from mathforge.forum_cot.stage import answer_post, post_attribution, split_posts
from mathforge.forum_cot.stage import run as rewrite_forum_solutions
from mathforge.funnel import StepStats, by_step, read_summary
from mathforge.io import write_parquet
from mathforge.schemas.judged import FORUM_COT_SCHEMA, MAJORITY_SCHEMA
from mathforge.schemas.problems import ANSWERS_SCHEMA
from mathforge.sft.stage import build_rows, kept_forum_solutions


def author(role, post_id, name, license="CC BY-SA 4.0"):
    return {"role": role, "post_id": post_id, "user_id": None, "name": name, "license": license}


WORKED = "$36 = 2^2 \\cdot 3^2$, so the sum is $(1+2+4)(1+3+9) = 7 \\cdot 13 = 91$."


def test_split_posts_and_the_first_worked_reply():
    discussion = f"Post 1:\nThanks!\n\nPost 2:\n{WORKED}\n\nPost 3:\nYes, $91$."
    assert split_posts(discussion) == ["Thanks!", WORKED, "Yes, $91$."]
    assert answer_post(discussion, 40) == (2, WORKED)
    assert answer_post(discussion, 400) is None
    assert (
        answer_post("Post 1:\nGreat question, I was wondering about this for a long while too!", 10) is None
    )
    assert split_posts("") == [] and answer_post(None, 1) is None


def test_attribution_names_the_rewritten_reply_when_the_source_lists_one_per_reply():
    row = {
        "license": "CC BY-SA 4.0",
        "forum_discussions": f"Post 1:\nhi\n\nPost 2:\n{WORKED}",
        "authors": [author("question", "1", "ann"), author("answer", "2", "bob"),
                    author("answer", "3", "cy", "CC BY-SA 3.0")],
    }  # fmt: skip
    authors, licence = post_attribution(row, 2)
    assert [a["name"] for a in authors] == ["ann", "cy"] and licence == "CC BY-SA 3.0"
    # AoPS-style: only the question's author is known -> no reply author is guessed
    aops = {**row, "authors": [author("question", "1", "ann")], "license": "unknown"}
    assert post_attribution(aops, 2) == ([author("question", "1", "ann")], "unknown")


def problem(pid, text, discussion):
    row = {name: None for name in ANSWERS_SCHEMA.names}
    row.update(problem_id=pid, problem=text, forum_discussions=discussion, source="demo", license="CC0-1.0",
               authors=[author("question", pid, "ann", "CC0-1.0")], language="en")  # fmt: skip
    return row


def verdict(pid, expected, difficulty_ok=True):
    row = {name: None for name in MAJORITY_SCHEMA.names}
    row.update(problem_id=pid, problem=f"text {pid}", expected_answer=expected, forum_answer=expected,
               answer_rule="forum_agrees", difficulty_ok=difficulty_ok, solve_rate=0.5)  # fmt: skip
    return row


PROBLEMS = [
    problem("p1", "Find the sum of all positive divisors of $36$.", f"Post 1:\n{WORKED}"),
    problem("p2", "Find the remainder when $3^{100}$ is divided by $7$.",
            "Post 1:\n$3^6 \\equiv 1 \\pmod 7$ and $100 = 6\\cdot 16 + 4$, so it is $3^4 = 81 \\equiv 4$."),
    problem("p3", "Find $AC$ when $AB = 5$, $BC = 12$, angle $B$ is right.",
            "Post 1:\nPythagoras: $AC = \\sqrt{25 + 144} = 13$, that is the length."),
    problem("p4", "Compute $2+2$.", "Post 1:\nThanks!"),
    problem("p5", "Compute $3+3$.", "Post 1:\n$3 + 3 = 6$ because adding three to three gives six, easy."),
]  # fmt: skip
MAJORITY = [verdict("p1", "91"), verdict("p2", "4"), verdict("p3", "13"), verdict("p4", "4"),
            verdict("p5", "6", difficulty_ok=False)]  # fmt: skip
SCRIPT = {
    "rules": [
        {
            "contains": "divisors of $36$",
            "reply": "The divisors multiply out: $7 \\cdot 13 = 91$.\n\n\\boxed{91}",
        },
        {"contains": "remainder when", "reply": "By Fermat, $3^{100} \\equiv 3^4 \\equiv 4$... \\boxed{5}"},
        {"contains": "Find $AC$", "reply": "By Pythagoras the hypotenuse is 13."},
    ]
}


@pytest.fixture
def env(tmp_path, stub_server):
    stub = stub_server(SCRIPT)
    cfg = validate_config(
        {"inference": openai_inference_config(stub.base_url), "forum_cot": {"enabled": True}}
    )
    write_parquet(pa.Table.from_pylist(PROBLEMS, schema=ANSWERS_SCHEMA), tmp_path / "set.parquet")
    write_parquet(pa.Table.from_pylist(MAJORITY, schema=MAJORITY_SCHEMA), tmp_path / "majority.parquet")
    return cfg, stub, tmp_path


def run(cfg, tmp):
    rewrite_forum_solutions(
        str(tmp / "majority.parquet"), str(tmp / "set.parquet"), cfg, str(tmp / "out.parquet"),
        str(tmp / "summary.json"), str(tmp / "store.jsonl"), str(tmp / "judge.jsonl"),
    )  # fmt: skip
    return pq.read_table(tmp / "out.parquet"), summary_fields(tmp / "summary.json")


def test_rewrites_are_judged_against_the_final_answer_counted_and_resumable(env):
    cfg, stub, tmp = env
    table, summary = run(cfg, tmp)
    assert table.schema.equals(FORUM_COT_SCHEMA)
    rows = {r["problem_id"]: r for r in table.to_pylist()}
    assert {pid: r["forum_cot_status"] for pid, r in rows.items()} == {
        "p1": "kept", "p2": "disagrees_with_expected_answer", "p3": "no_boxed_answer",
    }  # fmt: skip
    kept = rows["p1"]
    assert kept["judgement"] is True and kept["predicted_answer"] == "91" and kept["mode"] == "forum_cot"
    assert kept["source_post"] == WORKED and kept["source_post_index"] == 1
    assert kept["license"] == "CC0-1.0" and kept["authors"][0]["name"] == "ann"
    assert rows["p2"]["judgement"] is False and rows["p3"]["judgement"] is None
    assert summary["n_in"] == 5 and summary["n_out"] == 1 and summary["rewrites"] == 3
    assert summary["dropped"] == {
        "disagrees_with_expected_answer": 1, "no_boxed_answer": 1, "no_answer_post": 1,
        "problem_not_sft:difficulty": 1,
    }  # fmt: skip
    assert summary["pass_rate"] == pytest.approx(1 / 3, abs=1e-4)
    sent = stub.stats()["requests"]
    assert sent == 3
    again, _ = run(cfg, tmp)  # resumed from the request store: nothing is sent again
    assert stub.stats()["requests"] == sent and again.equals(table)


def test_kept_rewrites_become_forum_cot_sft_rows(env):
    cfg, _stub, tmp = env
    run(cfg, tmp)
    solutions = kept_forum_solutions([str(tmp / "out.parquet")])
    assert [s["problem_id"] for s in solutions] == ["p1"]
    problems = {m["problem_id"]: {**m, "answer_in_statement": None} for m in MAJORITY}
    rows, stats = build_rows(solutions, problems, cfg)
    [row] = rows
    assert row["variant"] == "forum_cot" and row["tool"] is False and row["source_post"] == WORKED
    answer = row["messages"][-1]
    assert answer["role"] == "assistant" and answer["content"] == solutions[0]["generation"]
    assert row["messages"][-2]["content"] == PROBLEMS[0]["problem"]  # solve_plain's user turn: the problem
    assert stats.counters["variants"]["forum_cot"] == {"rows": 1}


def test_write_sft_shards_ships_the_kept_rewrites_through_the_hygiene_audit(env):
    from mathforge.decontam.stage import AUDIT_SCHEMA
    from mathforge.schemas.judged import FINAL_JUDGED_SCHEMA
    from mathforge.sft.part import run_part
    from mathforge.sft.stage import run as write_sft_shards

    cfg, _stub, tmp = env
    run(cfg, tmp)
    bench = tmp / "bench.jsonl"
    bench.write_text(json.dumps({"problem": "An unrelated benchmark problem about triangles."}) + "\n")
    benchmarks = [{"name": "bench", "path": str(bench), "field": "problem"}]
    cfg = validate_config(
        {**{k: cfg[k] for k in ("inference", "forum_cot")}, "decontam": {"benchmarks": benchmarks}}
    )
    write_parquet(pa.Table.from_pylist([], schema=FINAL_JUDGED_SCHEMA), tmp / "final.parquet")
    write_parquet(pa.Table.from_pylist([], schema=AUDIT_SCHEMA), tmp / "audit.parquet")
    part = tmp / "parts" / "shard-0.parquet"
    run_part(
        str(tmp / "final.parquet"), str(tmp / "majority.parquet"), cfg, str(tmp / "set.parquet"),
        str(tmp / "audit.parquet"), str(part), hygiene_path=str(tmp / "parts" / "shard-0.hygiene.json"),
        summary_path=str(tmp / "parts" / "shard-0.summary.json"), forum_cot=[str(tmp / "out.parquet")],
    )  # fmt: skip
    stats = write_sft_shards(
        [str(part)], [str(tmp / "majority.parquet")], [str(tmp / "summary.json")], cfg, str(tmp / "data"),
        str(tmp / "manifest.json"), str(tmp / "card.md"), hygiene_path=str(tmp / "hygiene.json"),
        summary_path=str(tmp / "data.summary.json"),
    )  # fmt: skip
    assert stats.n_out == 1
    [row] = pq.read_table(tmp / "data" / "forum_cot").to_pylist()
    assert row["problem_id"] == "p1" and row["source_post"] == WORKED and row["variant"] == "forum_cot"
    card = (tmp / "card.md").read_text()
    assert "| forum_cot | 1 |" in card and "1 of 3 rewrites agree" in card


def test_the_run_report_counts_the_rewrites_and_their_share_kept(env):
    from mathforge.run_report import funnel
    from mathforge.run_statistics import run_statistics, statistics_markdown

    cfg, _stub, tmp = env
    run(cfg, tmp)
    summary = read_summary(tmp / "summary.json")
    other_shard = StepStats(summary.step, 2, 1, Counter(no_answer_post=1), {"rewrites": 1})
    stats = run_statistics(by_step([summary, other_shard]))
    assert stats["forum_cot"] == {
        "problems": 7, "rewrites": 4, "kept": 2,
        "dropped": {"disagrees_with_expected_answer": 1, "no_answer_post": 2, "no_boxed_answer": 1,
                    "problem_not_sft:difficulty": 1},
    }  # fmt: skip
    assert (
        "forum answers rewritten: 4; agreeing with the final answer (kept): 2 (50.0%)"
        in statistics_markdown(stats)
    )
    assert funnel(by_step([summary]))["rewrite_forum_solutions"].dropped["no_boxed_answer"] == 1


# forum_cot.count_as_votes: rewrite before the vote, ballots in it, kept or not after it.
VOTE_PROBLEMS = [
    {**PROBLEMS[0], "expected_answer": "91"},  # forum answer kept by the solutions; the rewrite agrees
    {**PROBLEMS[1], "expected_answer": None},  # solutions 4 and 5 tie below min_votes: the ballot 5 decides
    {**PROBLEMS[2], "expected_answer": "13"},  # the rewrite has no boxed answer: no ballot
    {**PROBLEMS[3], "expected_answer": "4"},  # no worked reply
    problem("p5", "Compute $1+2$.", "Post 1:\n$1 + 2$ is three, written $3$, as everyone here knows."),
    problem("p6", "Compute $4+4$.", "Post 1:\n$4 + 4 = 9$ if you count carefully, trust me on this."),
]
VOTE_PROBLEMS[5]["expected_answer"] = "8"  # the rewrite votes 9 and disagrees
SOLVED = {"p1": ["91", "91"], "p2": ["4", "5"], "p3": ["13", "13"], "p4": ["4", "4"], "p5": ["1", "2"],
          "p6": ["8", "8"]}  # fmt: skip
VOTE_SCRIPT = {
    "rules": [
        *SCRIPT["rules"],
        {"contains": "Compute $1+2$", "reply": "Adding gives three.\n\n\\boxed{3}"},
        {"contains": "Compute $4+4$", "reply": "As the reply says, \\boxed{9}"},
    ]
}


def run_voting(cfg, tmp):
    from mathforge.forum_cot.stage import judge_forum_votes, rewrite_forum_votes
    from mathforge.judging.stage import majority_stage
    from mathforge.judging.stage import run as judge_stage

    rewrite_forum_votes(str(tmp / "solutions.parquet"), str(tmp / "set.parquet"), cfg, str(tmp / "ballots.parquet"),
                        str(tmp / "ballots.json"), str(tmp / "rewrite.jsonl"))  # fmt: skip
    judge_stage(str(tmp / "solutions.parquet"), cfg, str(tmp / "judged.parquet"), str(tmp / "j.json"),
                str(tmp / "j.jsonl"))  # fmt: skip
    majority_stage(str(tmp / "judged.parquet"), cfg, str(tmp / "majority.parquet"), str(tmp / "final.parquet"),
                   str(tmp / "m.json"), str(tmp / "m.jsonl"), [str(tmp / "ballots.parquet")])  # fmt: skip
    judge_forum_votes(str(tmp / "ballots.parquet"), str(tmp / "ballots.json"), str(tmp / "majority.parquet"), cfg,
                      str(tmp / "out.parquet"), str(tmp / "summary.json"), str(tmp / "judge.jsonl"))  # fmt: skip
    return (
        {r["problem_id"]: r for r in pq.read_table(tmp / "out.parquet").to_pylist()},
        *(json.loads((tmp / name).read_text()) for name in ("ballots.json", "m.json", "summary.json")),
    )


@pytest.fixture
def vote_env(tmp_path, stub_server):
    from mathforge.schemas.solutions import SOLUTIONS_SCHEMA

    stub = stub_server(VOTE_SCRIPT)
    cfg = validate_config({"inference": openai_inference_config(stub.base_url),
                           "forum_cot": {"enabled": True, "count_as_votes": True}})  # fmt: skip
    solutions = []
    for p in VOTE_PROBLEMS:
        for seed, answer in enumerate(SOLVED[p["problem_id"]]):
            row = {name: None for name in SOLUTIONS_SCHEMA.names}
            row.update(problem_id=p["problem_id"], problem=p["problem"], expected_answer=p["expected_answer"],
                       mode="plain", effort="low", seed=seed, sample_index=seed, predicted_answer=answer,
                       generation=f"\\boxed{{{answer}}}", finish_reason="stop", code_cells=[], sandbox_isolation=[])  # fmt: skip
            solutions.append(row)
    write_parquet(pa.Table.from_pylist(solutions, schema=SOLUTIONS_SCHEMA), tmp_path / "solutions.parquet")
    write_parquet(pa.Table.from_pylist(VOTE_PROBLEMS, schema=ANSWERS_SCHEMA), tmp_path / "set.parquet")
    return cfg, stub, tmp_path


def test_voting_rewrites_are_kept_only_for_an_answer_that_stands_without_their_vote(vote_env):
    cfg, stub, tmp = vote_env
    rows, ballots, majority, summary = run_voting(cfg, tmp)
    assert {pid: r["forum_cot_status"] for pid, r in rows.items()} == {
        "p1": "kept",  # the forum answer 91, confirmed by the solutions; the rewrite agrees
        "p2": "own_vote_changed_answer",  # 5 became the answer only with the rewrite's ballot
        "p3": "no_boxed_answer",
        "p5": "problem_not_sft:no_reliable_answer",  # 1, 2 and the ballot 3: still no majority
        "p6": "disagrees_with_expected_answer",  # voted 9, outvoted by the solutions' 8
    }  # fmt: skip
    assert rows["p1"]["judgement"] is True and rows["p2"]["judgement"] is None
    assert (rows["p2"]["expected_answer"], rows["p2"]["answer_rule"]) == ("5", "no_forum_answer")
    assert ballots["n_in"] == 6 and ballots["n_out"] == 4
    assert ballots["dropped"] == {"no_answer_post": 1, "no_boxed_answer": 1}
    assert majority["counters"]["rewrite_votes"] == {
        "rewrites": 5, "ballots": 4, "without_ballot": 1, "changed_majority": 1, "changed_expected_answer": 1,
    }  # fmt: skip
    # the ballot's effect on the generated solutions: p2's "5" is now a correct solution
    final = [r for r in pq.read_table(tmp / "final.parquet").to_pylist() if r["problem_id"] == "p2"]
    assert [(r["predicted_answer"], r["judgement"]) for r in final] == [("4", False), ("5", True)]
    # the same summary shape as without votes: every problem accounted for once
    assert summary["step"] == "rewrite_forum_solutions" and summary["n_in"] == 6 and summary["n_out"] == 1
    assert summary["n_in"] == summary["n_out"] + sum(summary["dropped"].values())
    assert summary["counters"]["rewrites"] == 5 and summary["counters"]["requests"]["sent"] == 5
    assert kept_forum_solutions([str(tmp / "out.parquet")])[0]["problem_id"] == "p1"
    sent = stub.stats()["requests"]
    assert sent == 5  # the rewrites only: every judgement here is symbolic
    again, *_ = run_voting(cfg, tmp)  # resumed from the request stores: nothing is sent again
    assert stub.stats()["requests"] == sent and again == rows
