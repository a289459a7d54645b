"""The shape of an SFT row's messages."""

from __future__ import annotations

from mathforge.hygiene.messages import structure_problem

SYSTEM = {"role": "system", "content": "Solve it."}
USER = {"role": "user", "content": "What is 6*7?"}
ANSWER = {"role": "assistant", "content": "\\boxed{42}"}
CALL = {"role": "assistant", "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "python", "arguments": "{}"}}]}  # fmt: skip
TOOL = {"role": "tool", "content": "42\n", "tool_call_id": "call_1"}


def test_well_formed_conversations_pass():
    assert structure_problem([SYSTEM, USER, ANSWER], "What is 6*7?") is None
    assert structure_problem([USER, ANSWER], "  What is 6*7?\n") is None
    assert structure_problem([USER, CALL, {**TOOL, "content": ""}, ANSWER], "What is 6*7?") is None


def test_each_malformation_is_named():
    problem = "What is 6*7?"
    cases = {
        "no messages": [],
        "expected 'user'": [SYSTEM, ANSWER],
        "system turn is empty": [{**SYSTEM, "content": " "}, USER, ANSWER],
        "does not hold the row's problem": [{**USER, "content": "What is 6*8?"}, ANSWER],
        "no assistant turn": [SYSTEM, USER],
        "empty assistant turn": [USER, {**ANSWER, "content": "  "}],
        "unexpected role 'user'": [USER, ANSWER, USER, ANSWER],
        "answers no pending call": [USER, TOOL, ANSWER],
        "before the tool answered": [USER, CALL, ANSWER],
        "does not end with an assistant answer": [USER, CALL, TOOL],
    }
    for expected, messages in cases.items():
        assert expected in (structure_problem(messages, problem) or ""), expected
    assert "problem is empty" in structure_problem([USER, ANSWER], " ")


def test_a_think_tag_in_an_answer_whose_thinking_is_carried_apart_is_named():
    problem = "What is 6*7?"
    thought = {**ANSWER, "reasoning_content": "6*7 = 42"}
    assert structure_problem([USER, thought], problem) is None
    for content in ("= 42.\n</think>\n\n\\boxed{42}", "<think>again</think> \\boxed{42}"):
        wrong = structure_problem([USER, {**thought, "content": content}], problem) or ""
        assert "think tag in the answer" in wrong
    # inline thinking (sft.reasoning_format: think) is one block at the start: fine
    assert (
        structure_problem([USER, {**ANSWER, "content": "<think>\n6*7\n</think>\n\n\\boxed{42}"}], problem)
        is None
    )
