"""Prompts are data: one YAML file per prompt under `config/prompts/` (system + user template).

Templates use `{{ name }}` placeholders, so LaTeX braces in the prompt text need no escaping.
Every prompt has a content hash that goes into each row it produced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from mathforge.errors import ConfigError
from mathforge.ids import canonical_json, sha256_hex

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class Prompt:
    name: str
    system: str
    user: str
    description: str = ""
    labels: tuple[str, str] | None = None  # (positive, negative) for classifier prompts
    # Few-shot examples, shown as earlier chat turns in exactly the query's format: each gives
    # the template's variables and the `output` the assistant should give.
    examples: tuple[tuple[tuple[str, str], ...], ...] = ()
    # Text per reasoning effort (high/medium/low), filled into `{{ effort_instruction }}` when
    # the effort is stated in the prompt rather than passed to the chat template.
    efforts: tuple[tuple[str, str], ...] = ()
    # Text the assistant's turn starts with, sent as the start of that turn for the model to
    # continue (solution prompts): `<think>\n` opens the think block the way DeepSeek-R1 and
    # Qwen3 templates do in their generation prompt, for models that would not open it.
    assistant_prefix: str = ""

    @property
    def hash(self) -> str:
        examples = [dict(e) for e in self.examples]
        content = {"system": self.system, "user": self.user, "examples": examples}
        if self.efforts:
            content["efforts"] = dict(self.efforts)
        if self.assistant_prefix:
            content["assistant_prefix"] = self.assistant_prefix
        return sha256_hex(canonical_json(content))[:16]

    def effort_instruction(self, effort: str) -> str:
        efforts = dict(self.efforts)
        if effort not in efforts:
            raise ConfigError(
                f"prompt {self.name!r} has no text for effort {effort!r} (has {sorted(efforts)})"
            )
        return efforts[effort]

    @property
    def variables(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.system)) | set(_PLACEHOLDER.findall(self.user))

    def render(self, **values: str) -> list[dict]:
        missing = self.variables - values.keys()
        if missing:
            raise ConfigError(f"prompt {self.name!r} needs values for {sorted(missing)}")

        def fill(template: str) -> str:
            return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)

        messages = []
        if self.system.strip():
            messages.append({"role": "system", "content": fill(self.system).strip()})
        for example in self.examples:
            shown = dict(example)
            output = shown.pop("output")
            messages.append({"role": "user", "content": _fill(self.user, {**values, **shown}).strip()})
            messages.append({"role": "assistant", "content": output.strip()})
        messages.append({"role": "user", "content": fill(self.user).strip()})
        return messages


def _fill(template: str, values: dict) -> str:
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), "")), template)


def read_yaml_file(path: Path, what: str):
    """The parsed YAML at `path` (a prompt-like data file); ConfigError naming it if missing or broken."""
    if not path.exists():
        raise ConfigError(f"{what} not found: expected {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc


def load_prompt(prompts_dir: str | Path, name: str) -> Prompt:
    path = Path(prompts_dir) / f"{name}.yaml"
    data = read_yaml_file(path, f"prompt {name!r}")
    if not isinstance(data, dict) or not isinstance(data.get("user"), str):
        raise ConfigError(f"{path}: expected a mapping with a string 'user' template")
    labels = data.get("labels")
    if labels is not None and not (isinstance(labels, dict) and {"positive", "negative"} <= labels.keys()):
        raise ConfigError(f"{path}: 'labels' must map 'positive' and 'negative' to label words")
    examples = data.get("examples") or []
    if not isinstance(examples, list) or not all(
        isinstance(e, dict) and isinstance(e.get("output"), str) for e in examples
    ):
        raise ConfigError(f"{path}: 'examples' must be a list of mappings, each with an 'output' string")
    efforts = data.get("efforts") or {}
    if not isinstance(efforts, dict) or not all(isinstance(v, str) for v in efforts.values()):
        raise ConfigError(f"{path}: 'efforts' must map effort names to instruction text")
    prefix = data.get("assistant_prefix") or ""
    if not isinstance(prefix, str):
        raise ConfigError(f"{path}: 'assistant_prefix' must be a string (e.g. \"<think>\\n\")")
    return Prompt(
        name=name,
        efforts=tuple(sorted((str(k), v.strip()) for k, v in efforts.items())),
        examples=tuple(tuple(sorted((str(k), str(v)) for k, v in e.items())) for e in examples),
        labels=(str(labels["positive"]), str(labels["negative"])) if labels else None,
        system=str(data.get("system") or ""),
        user=data["user"],
        description=str(data.get("description") or ""),
        assistant_prefix=prefix,
    )
