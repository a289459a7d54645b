"""Tokenizers with a given chat template, saved like a model's (for the completions transport,
which renders prompts with `transformers`' apply_chat_template)."""

from __future__ import annotations

# The gpt-oss chat template's shape (harmony): effort and built-in tools in the system message,
# the prompt's system text as the developer message, the generation prompt `<|start|>assistant`.
HARMONY_TEMPLATE = (
    "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
    "Knowledge cutoff: 2024-06\n\nReasoning: {{ reasoning_effort | default('medium') }}\n\n"
    "{% if builtin_tools and 'python' in builtin_tools %}# Tools\n\n## python\n\n"
    "Use this tool to execute Python code in your chain of thought. The code will not be shown to "
    "the user.\n\n{% endif %}"
    "# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>"
    "{% for m in messages %}{% if m.role == 'system' %}<|start|>developer<|message|># Instructions\n\n"
    "{{ m.content }}<|end|>{% else %}<|start|>{{ m.role }}<|message|>{{ m.content }}<|end|>{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|start|>assistant{% endif %}"
)


def tiny_tokenizer(path, template: str) -> str:
    """A word-level tokenizer with `template` as its chat template, saved under `path`."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({"[UNK]": 0, "[PAD]": 1}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]")
    tok.chat_template = template
    tok.save_pretrained(path)
    return str(path)
