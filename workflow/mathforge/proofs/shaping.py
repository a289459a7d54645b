"""A prover attempt as a training conversation (the `messages` of Nemotron-Math-Proofs rows).

The conversation is the base prompt, then every turn up to the verified one: the assistant's
answer and the feedback it got. In the verified turn the last Lean block is replaced by exactly
the code Lean checked (the trusted statement re-stitched, or the model's helpers and theorem that
Lean proved equal to it), so a model that changed the statement in its copy never teaches that.
Each assistant turn carries the model's thinking as `reasoning_content` when the server returned
it apart; `remove_cot` keeps only the Lean code of each assistant turn (thinking dropped);
`delete_wrong_turns` keeps only the base prompt and the verified turn. (What the prover's own
requests held is a separate choice, `proofs.context`: see proofs/context.py.)
"""

from __future__ import annotations

from mathforge.lean.source import LEAN_BLOCK
from mathforge.proofs.context import code_only
from mathforge.proofs.prover import Attempt


def with_checked_code(response: str, code: str) -> str:
    """`response` with its last ```lean4 block holding `code`."""
    blocks = list(LEAN_BLOCK.finditer(response))
    if not blocks:
        return f"{response.rstrip()}\n\n```lean4\n{code.strip()}\n```"
    last = blocks[-1]
    return f"{response[: last.start(1)]}{code.strip()}\n{response[last.end(1) :]}"


def training_messages(
    attempt: Attempt, remove_cot: bool, delete_wrong_turns: bool, system: bool = True
) -> list[dict] | None:
    """The attempt's conversation for SFT; None unless the attempt was verified."""
    if not attempt.verified:
        return None
    messages = [m for m in attempt.prompt if system or m["role"] != "system"]
    turns = attempt.turns[: attempt.verified_turn]
    if delete_wrong_turns:
        turns = turns[-1:]
    for step in turns:
        verified = step.turn == attempt.verified_turn
        content = with_checked_code(step.response, step.proof) if verified else step.response
        message = {"role": "assistant", "content": content.strip()}
        if remove_cot:  # the chain of thought goes: the text around the code and the thinking
            message["content"] = (code_only(content) or content).strip()
        elif step.reasoning:
            message["reasoning_content"] = step.reasoning.strip()
        messages.append(message)
        if not verified:
            messages.append({"role": "user", "content": step.feedback})
    return messages
