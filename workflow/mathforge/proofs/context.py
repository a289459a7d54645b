"""What the prover loop sends back to the model: the context of each refinement turn.

Nemotron-Math-Proofs proves with `delete_wrong_turns` and `remove_cot` acting on the loop's
context ("discards failed attempts to prevent context pollution"):
- `delete_wrong_turns`: the next request holds the base prompt, the latest failed attempt and its
  feedback only; without it, every earlier attempt and its feedback, in order.
- `remove_cot`: an earlier assistant turn is sent back as its Lean code only (the code Lean
  checked, else the response's last ```lean4 block; a turn without code as its answer outside any
  inline <think> block); without it, the full response text.
Either way the model's separately returned thinking (`reasoning`) is never sent back: it is not
part of an assistant message's `content`, and no `reasoning_content` field is added.

These options shape the requests only; the training conversations are shaped apart
(proofs/shaping.py, `proofs.remove_cot` / `proofs.delete_wrong_turns`).

Token budget: vLLM refuses a request whose prompt plus `max_tokens` exceeds the model's context
(`--max-model-len`). When that length is known, `answer_budget` lowers a turn's `max_tokens` to
what the context leaves, counting the prompt approximately (`prompt_tokens`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mathforge.inference.reasoning import split_think
from mathforge.lean.source import extract_lean_block

# Approximate prompt tokens: characters / CHARS_PER_TOKEN plus MESSAGE_OVERHEAD per message (the
# chat template's role markers). BPE tokenizers of current models average 3.5-4 characters per
# token on English and code; Lean's Unicode symbols take more tokens each, so 3 over-counts a little,
# which only lowers `max_tokens` a little (under-counting would have the request refused).
CHARS_PER_TOKEN = 3.0
MESSAGE_OVERHEAD = 8


@dataclass(frozen=True)
class ContextPolicy:
    """What a refinement request holds besides the base prompt (`proofs.context`)."""

    delete_wrong_turns: bool = True
    remove_cot: bool = True
    margin_tokens: int = 256  # head room under the model's context length for the count's error

    @classmethod
    def from_config(cls, section: dict) -> ContextPolicy:
        return cls(section["delete_wrong_turns"], section["remove_cot"], section["margin_tokens"])


@dataclass(frozen=True)
class FailedTurn:
    """A turn that did not verify, as the next request may show it."""

    response: str  # the assistant message's content as the server returned it
    feedback: str  # the user message that answers it
    reasoning: str | None = None  # the thinking returned apart; never sent back
    code: str | None = None  # the code Lean checked (the trusted statement re-stitched)


def code_only(response: str) -> str:
    """A response reduced to its last Lean block, fenced; "" when it has none."""
    block = extract_lean_block(response)
    return f"```lean4\n{block.strip()}\n```" if block is not None else ""


def without_cot(response: str) -> str:
    """A response without its chain of thought: its Lean code, else the answer after any inline
    <think> block (a model without a reasoning parser writes its thinking into the text)."""
    return code_only(response) or split_think(response)[1].strip()


def assistant_message(turn: FailedTurn, policy: ContextPolicy) -> dict:
    """An earlier attempt as an assistant message of the next request (content only, always)."""
    if not policy.remove_cot:
        return {"role": "assistant", "content": turn.response}
    if turn.code is not None:
        return {"role": "assistant", "content": f"```lean4\n{turn.code.strip()}\n```"}
    return {"role": "assistant", "content": without_cot(turn.response)}


def next_context(
    base_prompt: list[dict], failed_turns: list[FailedTurn], policy: ContextPolicy
) -> list[dict]:
    """The messages of the next request after `failed_turns` (oldest first)."""
    shown = failed_turns[-1:] if policy.delete_wrong_turns else failed_turns
    messages = [dict(m) for m in base_prompt]
    for turn in shown:
        messages += [assistant_message(turn, policy), {"role": "user", "content": turn.feedback}]
    return messages


def prompt_tokens(messages: list[dict]) -> int:
    """An approximate token count of a chat prompt (see CHARS_PER_TOKEN)."""
    chars = sum(len(m.get("content") or "") for m in messages)
    return math.ceil(chars / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD * len(messages)


def answer_budget(max_tokens: int, messages: list[dict], context_length: int | None, margin: int) -> int:
    """The `max_tokens` a request may ask for: the configured one, lowered to what the model's
    context leaves after the (approximate) prompt and a margin; <= 0 when nothing is left."""
    if context_length is None:
        return max_tokens
    return min(max_tokens, context_length - prompt_tokens(messages) - margin)


def model_context_length(inference_cfg: dict) -> int | None:
    """The context length of a server the pipeline starts (embedded, vllm, pool), when the config
    sets it; None otherwise (an external `openai` endpoint, or vLLM with the model's own length)."""
    backend = inference_cfg.get("backend")
    if backend == "embedded":
        return (inference_cfg.get("embedded") or {}).get("max_model_len")
    if backend in ("vllm", "pool"):
        return (inference_cfg.get("server") or {}).get("max_model_len")
    return None
