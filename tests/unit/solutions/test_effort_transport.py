"""The reasoning effort of each solution reaches the model on every transport, the completions
transport included (there the prompt is rendered here, with the task's own template kwargs)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from chat_templates import tiny_tokenizer
from conftest import openai_inference_config

from mathforge.config import validate_config
from mathforge.io import write_parquet
from mathforge.solutions.stage import run as generate_solutions

# A harmony-like chat template: the effort is rendered into the system message, as gpt-oss's is.
TEMPLATE = (
    "{%- for m in messages %}<|start|>{{ m.role }}<|message|>"
    "{%- if m.role == 'system' %}Reasoning: {{ reasoning_effort | default('medium') }}\n"
    "{% if builtin_tools %}# Tools: {{ builtin_tools | join(',') }}\n{% endif %}{% endif %}"
    "{{ m.content }}<|end|>{% endfor %}{% if add_generation_prompt %}<|start|>assistant{% endif %}"
)


@pytest.mark.parametrize("job_kwargs", [{}, {"builtin_tools": ["python"]}])
def test_each_effort_renders_its_own_prompt_on_the_completions_transport(tmp_path, stub_server, job_kwargs):
    turns = ["```python\nprint(2)\n```\n", "So \\boxed{2}."]
    stub = stub_server({"rules": [{"contains": "PROBLEM-1:", "turns": turns}], "keep_bodies": True})
    cfg = validate_config(
        {
            "inference": openai_inference_config(stub.base_url),
            "solutions": {
                "n_shards": 1, "n_tir": 1, "n_plain": 0, "efforts": ["high", "medium", "low"],
                "sampling": {"max_tokens": 64, "seed": 1, "chat_template_kwargs": job_kwargs},
                "tir": {"transport": "completions", "tokenizer": tiny_tokenizer(tmp_path / "tok", TEMPLATE)},
            },
            "sandbox": {"max_sessions": 2, "prestart": 0},
        }
    )  # fmt: skip
    problems = [{"problem_id": "p1", "problem": "PROBLEM-1: compute 1+1.", "expected_answer": "2"}]
    write_parquet(pa.Table.from_pylist(problems), tmp_path / "set.parquet")
    generate_solutions(
        str(tmp_path / "set.parquet"), 0, cfg, str(tmp_path / "out.parquet"),
        str(tmp_path / "summary.json"), str(tmp_path / "store.jsonl"),
    )  # fmt: skip
    first_turns = [b["prompt"] for b in stub.stats()["bodies"] if b["prompt"].endswith("<|start|>assistant")]
    assert len(first_turns) == 3
    assert len(set(first_turns)) == 3, "three efforts must reach the server as three different prompts"
    assert sorted(p.split("Reasoning: ")[1].split("\n")[0] for p in first_turns) == ["high", "low", "medium"]
    # The job's own template kwargs still apply next to the task's effort.
    assert all(("# Tools: python" in p) == bool(job_kwargs) for p in first_turns)
