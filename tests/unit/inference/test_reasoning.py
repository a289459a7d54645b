"""Reasoning kept apart from the answer: the chat API's reasoning fields (both vLLM names), and
raw completions split by format (harmony, <think>)."""

from __future__ import annotations

import asyncio

import pytest

from mathforge.inference.client import OpenAIClient, SamplingParams
from mathforge.inference.reasoning import parse_harmony, split_harmony, split_reasoning, split_think

MESSAGES = [{"role": "user", "content": "What is 2+2?"}]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_the_client_reads_either_reasoning_field(stub_server, field):
    rule = {"contains": "2+2", "reply": "So \\boxed{4}.", "reasoning": "2+2 is not \\boxed{5}; it is 4."}
    server = stub_server({"rules": [rule], "reasoning_field": field})

    async def go():
        async with OpenAIClient(server.base_url, "stub") as client:
            return await client.chat(MESSAGES, SamplingParams(max_tokens=8))

    result = asyncio.run(go())
    assert result.text == "So \\boxed{4}."
    assert result.reasoning == "2+2 is not \\boxed{5}; it is 4."
    assert result.choices[0].reasoning == result.reasoning


def test_no_reasoning_field_means_none(stub_server):
    server = stub_server({"rules": [{"contains": "2+2", "reply": "4"}]})

    async def go():
        async with OpenAIClient(server.base_url, "stub") as client:
            return await client.chat(MESSAGES, SamplingParams(max_tokens=8))

    assert asyncio.run(go()).reasoning is None


def test_split_think():
    assert split_think("<think>\nhmm \\boxed{1}\n</think>\n\nSo \\boxed{2}.") == (
        "hmm \\boxed{1}",
        "So \\boxed{2}.",
    )
    # Qwen3/R1 templates put <think> in the prompt: the completion starts inside the block.
    assert split_think("hmm\n</think>\nAnswer") == ("hmm", "Answer")
    assert split_think("<think>cut off while thinking") == ("cut off while thinking", "")
    assert split_think("No thinking here.") == (None, "No thinking here.")
    text = "The tag <think> appears in the answer </think> here."
    assert split_think(text) == (None, text)  # not a think block: left alone


def test_parse_harmony_both_recipient_placements_and_tool_replies():
    text = (
        "<|channel|>analysis<|message|>Think.<|end|>"
        "<|start|>assistant<|channel|>analysis to=python code<|message|>print(1)<|call|>"
        "<|start|>python to=assistant<|channel|>analysis<|message|>1\n<|end|>"
        "<|start|>assistant to=python<|channel|>analysis code<|message|>print(2)<|call|>"
        "<|start|>assistant<|channel|>final<|message|>\\boxed{2}<|return|>"
    )
    got = [(m.author, m.channel, m.recipient, m.text, m.end) for m in parse_harmony(text)]
    assert got == [
        ("assistant", "analysis", None, "Think.", "end"),
        ("assistant", "analysis", "python", "print(1)", "call"),
        ("python", "analysis", "assistant", "1\n", "end"),
        ("assistant", "analysis", "python", "print(2)", "call"),
        ("assistant", "final", None, "\\boxed{2}", "return"),
    ]


def test_split_harmony_and_formats():
    text = "<|channel|>analysis<|message|>Maybe \\boxed{3}?<|end|><|start|>assistant<|channel|>final<|message|>\\boxed{4}"
    assert split_harmony(text) == ("Maybe \\boxed{3}?", "\\boxed{4}")  # cut before <|return|>: still final
    assert split_reasoning(text, "none") == (None, text)
    assert split_reasoning("<think>a</think>b", "think") == ("a", "b")
    assert split_harmony("<|channel|>analysis<|message|>only thinking, cut off") == (
        "only thinking, cut off",
        "",
    )
