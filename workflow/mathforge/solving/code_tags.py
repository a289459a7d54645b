"""How a model marks code to run and how the run's output is shown back to it (data in
`config/prompts/code_tags/<name>.yaml`: markdown fences, gpt-oss harmony tool calls)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mathforge.errors import ConfigError
from mathforge.ids import canonical_json, sha256_hex
from mathforge.inference.reasoning import FORMATS
from mathforge.prompts import read_yaml_file

_REQUIRED = ("code_begin", "code_end", "output_begin", "output_end")


@dataclass(frozen=True)
class CodeTags:
    name: str
    code_begin: str
    code_end: str
    output_begin: str
    output_end: str
    code_begin_pattern: str = ""
    remaining_hint: str = ""
    exhausted_hint: str = ""
    # How the model's raw text separates thinking from answer (mathforge.inference.reasoning):
    # harmony for gpt-oss, think for <think> models, none when all text is answer.
    reasoning_format: str = "none"

    @property
    def hash(self) -> str:
        # reasoning_format only reads the stored text (no request changes): not part of the hash.
        shaping = {k: v for k, v in self.__dict__.items() if k != "reasoning_format"}
        return sha256_hex(canonical_json(shaping))[:16]

    @property
    def begin_regex(self) -> re.Pattern:
        return re.compile(self.code_begin_pattern or re.escape(self.code_begin))

    def begin_span(self, text: str, pos: int = 0) -> tuple[int, int] | None:
        """(start, end) of the next code opening at or after `pos`: the whole `code_begin` when the
        text has it (the pattern may match only its tail, e.g. harmony's recipient), else the match."""
        match = next(self.begin_regex.finditer(text, pos), None)
        if match is None:
            return None
        start = match.start()
        lead = self.code_begin[: -len(match.group())] if self.code_begin.endswith(match.group()) else ""
        if lead and text[pos:start].endswith(lead):
            start -= len(lead)
        return start, match.end()

    def find_cell(self, text: str, finish_reason: str | None) -> tuple[str, str] | None:
        """The code cell `text` ends with, as (code, text closed with `code_end`), or None.

        A cell counts when the last code block is closed by `code_end` with nothing after it, or
        when generation stopped cleanly inside it (a server that strips the stop string; a
        model that ends its turn right after the code). A cell cut off by the token limit
        (`finish_reason == "length"`) is not run: its code is incomplete.
        """
        begins = list(self.begin_regex.finditer(text))
        if not begins:
            return None
        start = begins[-1].end()
        body = text[start:]
        closing = self.code_end.strip() or self.code_end
        end = body.find(closing)
        if end >= 0:
            if body[end + len(closing) :].strip():
                return None  # that block was closed earlier and the text went on
            code = body[:end]
        elif finish_reason == "stop":
            code = body
        else:
            return None
        prefix = text[: start + len(code)]
        if not prefix.endswith("\n") and self.code_end != closing:
            prefix += "\n"  # fences close on a line of their own
        return code, prefix + self.code_end

    def render_output(self, output: str, remaining: int | None) -> str:
        """The block appended after a cell; `remaining` adds the budget hint when not None."""
        hint = ""
        if remaining is not None:
            template = self.remaining_hint if remaining > 0 else self.exhausted_hint
            hint = template.replace("{{ remaining }}", str(remaining))
        if output and not output.endswith("\n") and self.output_end.startswith("`"):
            output += "\n"
        return f"{self.output_begin}{output}{hint}{self.output_end}"


def load_code_tags(prompts_dir: str | Path, name: str) -> CodeTags:
    path = Path(prompts_dir) / "code_tags" / f"{name}.yaml"
    data = read_yaml_file(path, f"code tags {name!r}")
    if not isinstance(data, dict) or any(not isinstance(data.get(k), str) or not data[k] for k in _REQUIRED):
        raise ConfigError(f"{path}: expected non-empty strings for {', '.join(_REQUIRED)}")
    fields = set(CodeTags.__dataclass_fields__) - {"name"}
    tags = CodeTags(name=name, **{k: str(v) for k, v in data.items() if k in fields})
    if tags.reasoning_format not in FORMATS:
        raise ConfigError(f"{path}: reasoning_format must be one of {FORMATS}, got {tags.reasoning_format!r}")
    return tags
