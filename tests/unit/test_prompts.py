"""Prompt files: the assistant prefix (the start of the answer given to the model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mathforge.config import REPO_ROOT
from mathforge.errors import ConfigError
from mathforge.prompts import load_prompt

PROMPTS = REPO_ROOT / "config" / "prompts"


def write(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "p.yaml").write_text("system: Solve.\nuser: '{{ problem }}'\n" + extra)
    return tmp_path


def test_the_prefix_is_read_and_changes_the_prompt_hash(tmp_path):
    (tmp_path / "a").mkdir()
    plain = load_prompt(write(tmp_path / "a", ""), "p")
    prefixed = load_prompt(write(tmp_path, 'assistant_prefix: "<think>"\n'), "p")
    assert plain.assistant_prefix == "" and prefixed.assistant_prefix == "<think>"
    assert plain.hash != prefixed.hash
    # Rendering stays the conversation up to the user turn: the prefix is sent by the caller.
    assert prefixed.render(problem="x") == plain.render(problem="x")


def test_a_prefix_that_is_not_text_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"p\.yaml: 'assistant_prefix' must be a string"):
        load_prompt(write(tmp_path, "assistant_prefix: [1]\n"), "p")


def test_solve_think_opens_the_think_block_with_the_tokens_vllm_looks_for():
    prompt = load_prompt(PROMPTS, "solve_think")
    # No newline after the tag: vLLM matches the open block by the tokens of `<think>` alone.
    assert prompt.assistant_prefix == "<think>"
    assert set(dict(prompt.efforts)) == {"high", "medium", "low"}
