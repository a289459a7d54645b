"""The prover on a Mathlib statement (miniF2F's header and notation) with Mathlib-style Lean
output replayed by a backend, since no Mathlib exists here: the error feedback of a multi-line
goal message, the old sorry wording, and the standard three axioms accepted."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import openai_inference_config

from mathforge.config import validate_config
from mathforge.inference.generation import Generator
from mathforge.lean.checker import ProofChecker
from mathforge.lean.messages import message_from_dict
from mathforge.lean.verify import CompileResult, body_line_offset
from mathforge.prompts import load_prompt
from mathforge.proofs.prover import Prover
from mathforge.proofs.stage import load_feedback

REPLAY = json.loads((Path(__file__).parents[2] / "data" / "lean" / "mathlib_minif2f_replay.json").read_text())
HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat"
STATEMENT = REPLAY["statement"]
SIGNATURE = STATEMENT.rstrip().removesuffix("by").rstrip()
PROOFS = {
    "linarith": "by\n  subst h₂\n  linarith",
    "sorry": "by\n  sorry",
    "norm_num": "by\n  rw [h₂, h₃] at h₁\n  norm_num [h₁]",
}


class ReplayBackend:
    """Answers each check with the messages recorded for the tactic in the proof."""

    def __init__(self):
        self.bodies = []

    def check(self, header: str, body: str) -> CompileResult:
        self.bodies.append(body)
        key = next(k for k in ("norm_num", "linarith") if k in body)
        offset = body_line_offset(header)
        return CompileResult([message_from_dict(m, offset) for m in REPLAY["checks"][key]], 0, False, 0.5, [])


def test_mathlib_statement_fixed_after_linarith_feedback(tmp_path, stub_server):
    def answer(proof):
        return f"Plan.\n```lean4\n{SIGNATURE} {PROOFS[proof]}\n```"

    stub = stub_server(
        {"rules": [{"contains": "linarith failed", "reply": answer("norm_num")},
                   {"contains": "theorem mathd_algebra_478", "reply": answer("linarith")}]}
    )  # fmt: skip
    cfg = validate_config({"inference": openai_inference_config(stub.base_url), "lean": {"header": HEADER}})
    backend = ReplayBackend()
    checker = ProofChecker(backend, cfg["lean"])
    prompt = load_prompt(cfg["prompts_dir"], "prove_theorem")
    feedback = load_feedback(cfg["prompts_dir"], "proof_feedback")
    statement = {
        "statement_id": "m",
        "formal_statement": STATEMENT,
        "lean_header": HEADER,
        "problem": "v = 65",
    }
    with Generator(cfg["inference"], tmp_path / "s.jsonl") as gen:
        [a] = Prover(cfg["proofs"], cfg["inference"], prompt, feedback, gen, checker).run(
            [statement], 1, True
        )["m"]
    assert [t.outcome for t in a.turns] == ["error", "verified"]
    text = a.turns[0].feedback
    assert "  <error>linarith</error>" in text and "⊢ False failed" in text
    assert text.count("```lean4\n") == 1 and "subst h₂" in text  # the context line above the error
    assert backend.bodies[1].endswith("#print axioms mathd_algebra_478")
    assert a.turns[1].proof == f"{SIGNATURE} {PROOFS['norm_num']}"


def test_old_sorry_wording_is_a_sorry():
    from mathforge.lean.verify import check_proof

    class SorryBackend(ReplayBackend):
        def check(self, header, body):
            offset = body_line_offset(header)
            return CompileResult(
                [message_from_dict(m, offset) for m in REPLAY["checks"]["sorry"]], 0, False, 0.1, []
            )

    # the denylist catches a visible sorry before Lean; a hidden one is caught from Lean's output
    proof = f"{SIGNATURE} by\n  exact hidden_gap"
    assert check_proof(SorryBackend(), HEADER, STATEMENT, proof).status == "has_sorry"
