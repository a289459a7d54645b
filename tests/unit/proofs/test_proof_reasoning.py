"""Prover turns keep the model's thinking; the training conversation carries it on the assistant
turns, and `remove_cot` strips it with the rest of the chain of thought."""

from __future__ import annotations

from mathforge.proofs.prover import Attempt, ProofTurn
from mathforge.proofs.shaping import training_messages

PROMPT = [{"role": "system", "content": "Prove."}, {"role": "user", "content": "theorem t : True := by"}]
PROOF = "theorem t : True := by\n  trivial"


def attempt() -> Attempt:
    wrong = ProofTurn(1, "Try:\n```lean4\ntheorem t : True := by\n  simp?\n```", "stop", 10,
                      proof="theorem t : True := by\n  simp?", outcome="rejected", feedback="No `simp?`.",
                      reasoning="Maybe simp? finds it.")  # fmt: skip
    right = ProofTurn(2, f"Now:\n```lean4\n{PROOF}\n```", "stop", 10, proof=PROOF, outcome="verified",
                      reasoning="True is trivial.")  # fmt: skip
    return Attempt("t", 0, 1, PROMPT, turns=[wrong, right], verified_turn=2, done=True)


def test_reasoning_on_every_assistant_turn():
    messages = training_messages(attempt(), remove_cot=False, delete_wrong_turns=False)
    assistant = [m for m in messages if m["role"] == "assistant"]
    assert [m["reasoning_content"] for m in assistant] == ["Maybe simp? finds it.", "True is trivial."]
    assert assistant[1]["content"] == f"Now:\n```lean4\n{PROOF}\n```"


def test_remove_cot_strips_the_thinking_too():
    messages = training_messages(attempt(), remove_cot=True, delete_wrong_turns=True)
    assert messages[-1] == {"role": "assistant", "content": f"```lean4\n{PROOF}\n```"}
    assert not any("reasoning_content" in m for m in messages)
