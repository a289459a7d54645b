"""The shape of an SFT row's chat `messages`: what a trainer's chat template can take as it is.

Optional system turn, exactly one user turn holding the row's problem, then assistant turns (with
`tool_calls` answered by `tool` turns carrying the matching `tool_call_id`, when TIR rows are
written as tool calls), ending with an assistant answer. Every turn a model learns from or is
prompted with has text; a tool turn may be empty (a cell that printed nothing). A turn whose
thinking is carried apart (`reasoning_content`) has no think tag left in its answer.
"""

from __future__ import annotations

THINK_TAGS = ("<think>", "</think>")


def _text(message: dict) -> str:
    content = message.get("content")
    return content.strip() if isinstance(content, str) else ""


def _prompt_problem(messages: list[dict], problem: str) -> tuple[str | None, int]:
    """(what is wrong with the prompt turns or None, index of the first turn after the user turn)."""
    start = 1 if messages[0].get("role") == "system" else 0
    if start and not _text(messages[0]):
        return "the system turn is empty", start
    role = messages[start].get("role") if len(messages) > start else None
    if role != "user":
        return f"turn {start + 1} is {role!r}, expected 'user'", start
    if not problem.strip():
        return "the row's problem is empty", start
    if problem.strip() not in _text(messages[start]):
        return "the user turn does not hold the row's problem", start
    return None, start + 1


def _answer_problem(turns: list[dict], offset: int) -> str | None:
    """What is wrong with the turns after the user turn (assistant/tool), or None."""
    if not turns:
        return "no assistant turn"
    pending: list[str] = []
    for n, message in enumerate(turns, start=offset + 1):
        role = message.get("role")
        if role == "tool":
            if not pending or message.get("tool_call_id") != pending[0]:
                return f"turn {n}: tool turn answers no pending call"
            pending.pop(0)
        elif role == "assistant":
            if pending:
                return f"turn {n}: assistant turn before the tool answered {pending[0]!r}"
            calls = message.get("tool_calls") or []
            pending = [c.get("id") for c in calls]
            if not calls and not _text(message):
                return f"turn {n}: empty assistant turn"
            if message.get("reasoning_content") and any(t in _text(message) for t in THINK_TAGS):
                return f"turn {n}: a think tag in the answer of a turn whose thinking is carried apart"
        else:
            return f"turn {n}: unexpected role {role!r} after the user turn"
    if pending or turns[-1].get("role") != "assistant":
        return "the conversation does not end with an assistant answer"
    return None


def structure_problem(messages: list[dict], problem: str) -> str | None:
    """What is wrong with the shape of `messages` for a row of `problem`, or None."""
    if not messages:
        return "no messages"
    wrong, after_user = _prompt_problem(messages, problem)
    return wrong or _answer_problem(messages[after_user:], after_user)
