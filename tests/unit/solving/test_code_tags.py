"""Finding the code cell a generation ends with, and rendering its output (markdown and gpt-oss tags)."""

import pytest

from mathforge.config import REPO_ROOT
from mathforge.errors import ConfigError
from mathforge.solving.code_tags import load_code_tags

PROMPTS = REPO_ROOT / "config" / "prompts"


@pytest.fixture(scope="module")
def md():
    return load_code_tags(PROMPTS, "markdown")


@pytest.fixture(scope="module")
def harmony():
    return load_code_tags(PROMPTS, "gpt-oss")


def test_a_closed_fence_at_the_end_is_a_cell(md):
    text = "Let me compute.\n```python\nx = 6 * 7\nprint(x)\n```\n"
    code, closed = md.find_cell(text, "stop")
    assert code == "x = 6 * 7\nprint(x)\n"
    assert closed == text


def test_the_last_cell_counts_and_earlier_ones_do_not(md):
    text = "```python\na = 1\n```\n```output\n\n```\nNow:\n```python\nprint(a + 1)\n```\n"
    assert md.find_cell(text, "stop")[0] == "print(a + 1)\n"


def test_a_stop_string_stripped_by_the_server_is_put_back(md):
    # Servers without include_stop_str_in_output drop the "```\n" they stopped on.
    code, closed = md.find_cell("Compute:\n```python\nprint(2 ** 10)", "stop")
    assert code == "print(2 ** 10)"
    assert closed == "Compute:\n```python\nprint(2 ** 10)\n```\n"


def test_a_cell_cut_by_the_token_limit_is_not_run(md):
    assert md.find_cell("```python\nfor i in range(", "length") is None


def test_text_after_the_closing_fence_means_no_cell(md):
    assert md.find_cell("```python\nprint(1)\n```\nSo the answer is \\boxed{1}.", "stop") is None
    assert md.find_cell("No code here, \\boxed{3}.", "stop") is None


def test_a_fence_closed_by_end_of_turn_without_newline_is_a_cell(md):
    code, closed = md.find_cell("```python\nprint(3)\n```", "stop")
    assert code == "print(3)\n"
    assert closed.endswith("```\n")


def test_output_rendering_with_and_without_budget_hint(md):
    assert md.render_output("42", None) == "```output\n42\n```\n"
    assert md.render_output("42\n", 3) == "```output\n42\n[3 code execution(s) left]\n```\n"
    assert "no code executions left" in md.render_output("", 0)


def test_gpt_oss_tool_calls_in_either_header_order(harmony):
    a = "<|channel|>analysis<|message|>Let me check.<|end|><|start|>assistant<|channel|>analysis to=python code<|message|>print(7)<|call|>"
    b = "<|start|>assistant to=python<|channel|>analysis code<|message|>print(8)<|call|>"
    assert harmony.find_cell(a, "stop")[0] == "print(7)"
    assert harmony.find_cell(b, "stop")[0] == "print(8)"
    assert harmony.find_cell(a, "stop")[1] == a  # no newline is inserted before <|call|>
    assert harmony.render_output("7\n", None) == (
        "<|start|>python to=assistant<|channel|>analysis<|message|>7\n<|end|><|start|>assistant"
    )


def test_missing_or_incomplete_tags_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_code_tags(tmp_path, "markdown")
    (tmp_path / "code_tags").mkdir()
    (tmp_path / "code_tags" / "bad.yaml").write_text("code_begin: '```python'\n")
    with pytest.raises(ConfigError, match="code_end"):
        load_code_tags(tmp_path, "bad")
