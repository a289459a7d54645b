"""Chat messages as training rows carry them: the Arrow struct of one message (SFT shards, proof
rows) and the forms its `reasoning_content` takes (`sft.reasoning_format`, the trainer exports)."""

from __future__ import annotations

import pyarrow as pa

TOOL_CALL = pa.struct(
    [
        ("id", pa.string()),
        ("type", pa.string()),
        ("function", pa.struct([("name", pa.string()), ("arguments", pa.string())])),
    ]
)
MESSAGE = pa.struct(
    [
        ("role", pa.string()),
        ("content", pa.string()),
        ("tool_calls", pa.list_(TOOL_CALL)),
        ("tool_call_id", pa.string()),
        ("reasoning_content", pa.string()),  # the assistant's thinking (sft.reasoning_format: field)
    ]
)


def with_reasoning_format(messages: list[dict], fmt: str) -> list[dict]:
    """`messages` with the assistant turns' `reasoning_content` kept as a field (`field`), moved
    into the content as `<think>...</think>` (`think`), or dropped (`none`)."""
    if fmt == "field":
        return messages
    out = []
    for message in messages:
        message = dict(message)
        thinking = message.pop("reasoning_content", None)
        if thinking and fmt == "think":
            message["content"] = f"<think>\n{thinking}\n</think>\n\n{message.get('content') or ''}".rstrip()
        out.append(message)
    return out
