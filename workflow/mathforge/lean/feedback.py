"""Compiler errors as a model can act on them: each error's code lines with surrounding context
and the error span wrapped in `<error></error>` (the Goedel-Prover / NeMo-Skills format), used
by the refinement turns of autoformalization and of the prover."""

from __future__ import annotations

from mathforge.lean.messages import LeanMessage
from mathforge.lean.verify import LeanVerdict, body_line_offset


def mark_span(lines: list[str], message: LeanMessage, context_lines: int) -> str | None:
    """Lines `start - context .. end + context` of `lines` (1-based message positions relative
    to `lines`) with the message's span wrapped in <error></error>; None without a position."""
    if message.line is None or not lines:
        return None
    first = min(max(message.line, 1), len(lines))  # "unexpected end of input" points past the end
    col = min(message.column or 0, len(lines[first - 1])) if message.line <= len(lines) else len(lines[-1])
    last, end_col = first, None
    if message.end_line is not None and message.end_line >= first:
        last = min(message.end_line, len(lines))
        if message.end_line <= len(lines):
            end_col = message.end_column
    if end_col is None:
        end_col = len(lines[last - 1])
    shown = list(lines)
    if first == last:
        line = shown[first - 1]
        end_col = max(min(end_col, len(line)), col)
        shown[first - 1] = f"{line[:col]}<error>{line[col:end_col]}</error>{line[end_col:]}"
    else:
        shown[first - 1] = f"{shown[first - 1][:col]}<error>{shown[first - 1][col:]}"
        end_col = min(end_col, len(shown[last - 1]))
        shown[last - 1] = f"{shown[last - 1][:end_col]}</error>{shown[last - 1][end_col:]}"
    lo, hi = max(first - context_lines, 1), min(last + context_lines, len(lines))
    return "\n".join(shown[lo - 1 : hi])


def error_feedback(
    verdict: LeanVerdict, header: str, code: str, max_errors: int, context_lines: int = 0
) -> str:
    """The first `max_errors` errors of `verdict` for the body `code` (checked after `header`,
    or at `verdict.code_offset`),
    each with its code lines and its message; the verdict's reason when no error has a position."""
    lines = code.splitlines()
    # positions count from the header's first line; a proof with helpers starts further down
    offset = body_line_offset(header) if verdict.code_offset is None else verdict.code_offset
    parts = []
    for number, message in enumerate(verdict.errors[:max_errors], 1):
        relative = None
        if message.line is not None and message.line - offset >= 1:
            relative = LeanMessage(
                message.severity, message.text, message.line - offset, message.column,
                None if message.end_line is None else message.end_line - offset, message.end_column,
            )  # fmt: skip
        shown = mark_span(lines, relative, context_lines) if relative else None
        where = f"```lean4\n{shown}\n```\n" if shown is not None else ""
        parts.append(f"Error {number}:\n{where}{message.text.strip()}")
    return "\n\n".join(parts) or (verdict.reason or "the code did not compile")
