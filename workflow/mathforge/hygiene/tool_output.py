"""Tool output in a solution's text: made up by the model, or the sandbox's real output.

A solution generated without the tool (mode `plain`) must show no tool output at all: any output
block, tool-result tag or tool call in its text was written by the model, so a row of it would
teach a model to fabricate tool results. A tool-integrated (TIR) solution shows one output block
after each cell it ran, rendered by the pipeline from the sandbox's result (`solutions.tir`); every
block in its text must be exactly that, for the cell right before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from mathforge.solving.code_tags import CodeTags, load_code_tags
from mathforge.solving.task import shown_output

# Tool *results* in the formats models are trained on (whatever the configured code tags are).
OUTPUT_PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    ("markdown output block", re.compile(r"(?im)^[ \t]*(?:`{3,}|~{3,})[ \t]*(?:output|stdout)\b")),
    ("harmony python result", re.compile(r"<\|start\|>\s*(?:functions\.)?python\b")),
    ("harmony python result", re.compile(r"\b(?:functions\.)?python to=assistant\b")),
    ("tool result tag", re.compile(r"<\|?(?:tool_response|tool_output|tool_result)s?\|?>", re.I)),
    ("llama ipython result", re.compile(r"<\|start_header_id\|>\s*ipython\s*<\|end_header_id\|>")),
    ("deepseek tool output", re.compile(r"tool▁outputs?▁begin")),
)  # fmt: skip
# Tool *calls*: a solution without the tool that calls one goes on as if it had an answer.
CALL_PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    ("harmony python call", re.compile(r"\bto=(?:functions\.)?python\b")),
)


def code_tag_files(prompts_dir: str | Path) -> list[Path]:
    """Every code-tags file (their output markers are what a plain solution must not contain)."""
    return sorted((Path(prompts_dir) / "code_tags").glob("*.yaml"))


def output_markers(prompts_dir: str | Path) -> tuple[str, ...]:
    """The output-block openers of every configured code-tags format (`output_begin`)."""
    return tuple(load_code_tags(prompts_dir, path.stem).output_begin for path in code_tag_files(prompts_dir))


def _first_hit(text: str, patterns: Iterable[tuple[str, re.Pattern]], markers: Iterable[str]) -> str | None:
    hits = [(m.start(), label) for label, pattern in patterns if (m := pattern.search(text))]
    hits += [(text.find(marker), f"output marker {marker!r}") for marker in markers if marker in text]
    if not hits:
        return None
    pos, label = min(hits)
    return f"{label} at character {pos}: {text[pos : pos + 60]!r}"


def invented_output(text: str, markers: Iterable[str] = ()) -> str | None:
    """Where a solution generated WITHOUT the tool shows tool output or a tool call, or None.

    `markers` are the configured code tags' output openers (`output_markers`), matched verbatim
    on top of the built-in patterns of common tool formats."""
    return _first_hit(text, (*OUTPUT_PATTERNS, *CALL_PATTERNS), markers)


def _hint_regex(tags: CodeTags) -> re.Pattern:
    """The budget hints `render_output` may add inside a block (any count of executions left)."""
    hints = [h for h in (tags.remaining_hint, tags.exhausted_hint) if h]
    parts = [re.escape(h).replace(re.escape("{{ remaining }}"), r"\d+") for h in hints]
    return re.compile("(?:" + "|".join(parts) + ")?" if parts else "", re.S)


def _block_matches(block: str, cell: dict, tags: CodeTags) -> bool:
    """`block` (opener to closer) is what the pipeline rendered for `cell`, with or without a hint."""
    rendered = tags.render_output(shown_output(cell["output"] or "", cell["error"]), None)
    body = rendered[: len(rendered) - len(tags.output_end)]
    if block == rendered:
        return True
    return (
        block.startswith(body)
        and block.endswith(tags.output_end)
        and _hint_regex(tags).fullmatch(block[len(body) : len(block) - len(tags.output_end)]) is not None
    )


def _follows_cell(text: str, start: int, cell: dict, tags: CodeTags) -> bool:
    """The block at `start` comes right after `cell`'s code, closed by `code_end`."""
    before = text[:start]
    code = cell["code"] or ""
    return before.endswith(code + tags.code_end) or before.endswith(code + "\n" + tags.code_end)


def output_mismatch(text: str, cells: list[dict], tags: CodeTags) -> str | None:
    """Why the output blocks of a TIR solution's `text` are not the sandbox's outputs of its
    executed `cells` (in order, each right after its cell's code), or None when they are.

    Fewer blocks than cells is allowed (text after the final answer may have been trimmed off with
    its cells); a tool-output block of any other format left in the text is not."""
    pos, shown = 0, []
    for i, start in enumerate(_block_starts(text, tags)):
        end = text.find(tags.output_end, start + len(tags.output_begin))
        if end < 0:
            return f"output block {i + 1} is not closed ({tags.output_end!r} missing)"
        end += len(tags.output_end)
        if i >= len(cells):
            return f"output block {i + 1} but only {len(cells)} cell(s) ran: {text[start:end][:60]!r}"
        if not _follows_cell(text, start, cells[i], tags):
            return f"output block {i + 1} does not follow the code of executed cell {i + 1}"
        if not _block_matches(text[start:end], cells[i], tags):
            return f"output block {i + 1} differs from the sandbox's output of cell {i + 1}"
        shown.append(text[pos:start])
        pos = end
    rest = "".join(shown) + text[pos:]
    return _first_hit(rest, OUTPUT_PATTERNS, ())


def _block_starts(text: str, tags: CodeTags) -> list[int]:
    starts, pos = [], text.find(tags.output_begin)
    while pos >= 0:
        starts.append(pos)
        end = text.find(tags.output_end, pos + len(tags.output_begin))
        if end < 0:
            break
        pos = text.find(tags.output_begin, end + len(tags.output_end))
    return starts
