"""A reasoning model's thinking, kept apart from its answer.

Over the chat API vLLM returns the thinking in its own field (`reasoning` in vLLM 0.11 and
later, `reasoning_content` before; gpt-oss always, other models with `--reasoning-parser`).
The completions API returns raw text, split here by its format:
- `harmony` (gpt-oss): messages `<|start|>{author}<|channel|>{channel}<|message|>{text}<|end|>`
  (the first one's `<|start|>assistant` is in the prompt); the `analysis` channel is the
  thinking, `final` the answer; a tool call carries a recipient (`to=python`) and ends with
  `<|call|>`, the tool answers as a message from `python to=assistant`.
- `think` (DeepSeek-R1, Qwen3, ...): the thinking inside `<think>...</think>` before the
  answer (the opening tag may be in the prompt, as Qwen3's template puts it there).
- `none`: all text is answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FORMATS = ("none", "think", "harmony")
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
_HARMONY_SPLIT = re.compile(r"<\|start\|>")
_HARMONY_END = re.compile(r"<\|(end|call|return)\|>")
_RECIPIENT = re.compile(r"\bto=([^\s<]+)")


def message_reasoning(message: dict) -> str | None:
    """The thinking of a chat response message (or stream delta), under either field name."""
    value = message.get("reasoning")
    if value is None:
        value = message.get("reasoning_content")
    return value if isinstance(value, str) else None


def split_think(text: str) -> tuple[str | None, str]:
    """(thinking, answer) of an R1-style text; (None, text) when it holds no think block."""
    close = text.find(THINK_CLOSE)
    if close < 0:
        stripped = text.lstrip()
        if stripped.startswith(THINK_OPEN):  # cut off while thinking: no answer yet
            return stripped[len(THINK_OPEN) :].strip(), ""
        return None, text
    head = text[:close]
    opened = head.find(THINK_OPEN)
    if opened >= 0 and head[:opened].strip():
        return None, text  # a tag in the middle of an answer is not a think block
    thinking = head[opened + len(THINK_OPEN) :] if opened >= 0 else head
    return thinking.strip(), text[close + len(THINK_CLOSE) :].lstrip()


def after_last_close(answer: str) -> str:
    """What follows the answer's last `</think>` (all of it when it has none).

    A server-split answer may still hold the model's own `</think>`: vLLM's thinking_token_budget
    forced a close mid-thought (replacing the token the model sampled) and the model thought on
    in the answer. Only what follows its own close is the answer; the row keeps the text as the
    server returned it, and the SFT audit drops such a turn (a think tag in its answer)."""
    close = answer.rfind(THINK_CLOSE)
    return answer if close < 0 else answer[close + len(THINK_CLOSE) :]


@dataclass(frozen=True)
class HarmonyMessage:
    author: str  # assistant | python | ... (the tool that answers)
    channel: str | None
    recipient: str | None  # `python` for a call to the python tool; `assistant` in its reply
    text: str
    end: str | None  # end | call | return; None when generation stopped inside the message


def parse_harmony(text: str) -> list[HarmonyMessage]:
    """The messages of a harmony completion (the first message's `<|start|>assistant` omitted)."""
    messages = []
    for index, chunk in enumerate(_HARMONY_SPLIT.split(text)):
        if not chunk and index == 0:
            continue
        header, sep, body = chunk.partition("<|message|>")
        if not sep:  # a header cut off before its text (or stray text): keep it as text
            header, body = "", chunk
        role_part, _, channel_part = header.partition("<|channel|>")
        author = role_part.split()[0] if role_part.split() else "assistant"
        channel = channel_part.split("<|constrain|>")[0].split()[0] if channel_part.split() else None
        recipient = _RECIPIENT.search(header)
        end = _HARMONY_END.search(body)
        messages.append(
            HarmonyMessage(
                author=author if index or role_part.strip() else "assistant",
                channel=channel,
                recipient=recipient.group(1) if recipient else None,
                text=body[: end.start()] if end else body,
                end=end.group(1) if end else None,
            )
        )
    return messages


def split_harmony(text: str) -> tuple[str | None, str]:
    """(thinking, answer) of a harmony completion without tool calls: analysis vs final."""
    thinking, answer = [], []
    for message in parse_harmony(text):
        (answer if message.channel == "final" else thinking).append(message.text.strip())
    return ("\n\n".join(t for t in thinking if t) or None), "\n\n".join(a for a in answer if a)


def split_reasoning(text: str, fmt: str) -> tuple[str | None, str]:
    """(thinking, answer) of a raw completion in format `fmt` (see FORMATS)."""
    if fmt == "think":
        return split_think(text)
    if fmt == "harmony":
        return split_harmony(text)
    return None, text
