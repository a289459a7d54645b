"""A solution's stored text as (reasoning, answer): what the row keeps in `reasoning` and
`generation`, and what answer extraction reads (the answer only: a \\boxed{} the model wrote
while thinking is not its answer).

The thinking comes from the chat API's reasoning field when the server split it; otherwise from
the raw text in the configured format (mathforge.inference.reasoning). In harmony TIR
transcripts the python calls and the tool's replies belong to the thinking; they are kept there
in the code tags' inline form, so the SFT writer can split them into tool turns.
"""

from __future__ import annotations

from mathforge.inference.reasoning import THINK_CLOSE, parse_harmony, split_think
from mathforge.solving.code_tags import CodeTags

_HARMONY_MARK = "<|message|>"
_PYTHON = ("python", "functions.python")


def harmony_parts(text: str, tags: CodeTags) -> tuple[str | None, str]:
    """(thinking with tool calls inline, final answer) of a harmony transcript."""
    thinking: list[tuple[bool, str]] = []  # (plain text?, piece)
    answer = []
    for message in parse_harmony(text):
        if message.author != "assistant":  # the tool's reply
            thinking.append((False, f"{tags.output_begin}{message.text}{tags.output_end}"))
        elif message.recipient in _PYTHON:
            closed = tags.code_end if message.end == "call" else ""
            thinking.append((False, f"{tags.code_begin}{message.text}{closed}"))
        elif message.channel == "final":
            answer.append(message.text.strip())
        elif message.text.strip():
            thinking.append((True, message.text.strip()))
    out = ""
    for i, (plain, piece) in enumerate(thinking):
        out += ("\n\n" if plain and i and thinking[i - 1][0] else "") + piece
    return out or None, "\n\n".join(a for a in answer if a)


def thinking_continued(record: dict) -> bool:
    """The server split the thinking off, but the answer still holds the model's own `</think>`."""
    return bool(record.get("reasoning")) and THINK_CLOSE in (record.get("generation") or "")


def solution_parts(record: dict, fmt: str, tags: CodeTags | None) -> tuple[str | None, str]:
    """(reasoning or None, answer text) of a stored solution record."""
    text = record["generation"]
    if record.get("reasoning"):
        return record["reasoning"], text
    if fmt == "harmony" and _HARMONY_MARK in text:
        return harmony_parts(text, tags)
    if fmt == "think":
        return split_think(text)
    return None, text


def reasoning_format(stage: dict, tags: CodeTags) -> str:
    """`solutions.reasoning_format`, where `auto` is the code tags' own format."""
    fmt = stage["reasoning_format"]
    return tags.reasoning_format if fmt == "auto" else fmt
