"""Lean's `--json` messages, read by structure rather than by one version's wording.

One JSON object per line: `pos`/`endPos` (line 1-based, column 0-based), `severity`, `data`, and
in newer versions `kind` (e.g. `hasSorry`). The sorry warning's text changed across versions
(backticks vs quotes), so it is recognised by `kind` first and by a pattern tolerant of both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_SORRY = re.compile(r"declaration uses ['`‘]sorry['`’]")
_AXIOMS = re.compile(r"^'(?P<name>[^']+)' depends on axioms: \[(?P<axioms>[^\]]*)\]", re.DOTALL)
_NO_AXIOMS = re.compile(r"^'(?P<name>[^']+)' does not depend on any axioms")


@dataclass(frozen=True)
class LeanMessage:
    severity: str  # information | warning | error
    text: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    kind: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def is_sorry(self) -> bool:
        return self.kind == "hasSorry" or (self.severity == "warning" and bool(_SORRY.search(self.text)))

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def message_from_dict(data: dict, line_offset: int = 0) -> LeanMessage:
    """One message as `lean --json`, the REPL and Kimina all write it; `line_offset` moves
    positions reported relative to a checked body to positions in the whole file."""
    pos, end = data.get("pos") or {}, data.get("endPos") or {}
    return LeanMessage(
        severity=str(data.get("severity", "error")),
        text=str(data.get("data", "")),
        line=pos["line"] + line_offset if pos.get("line") is not None else None,
        column=pos.get("column"),
        end_line=end["line"] + line_offset if end.get("line") is not None else None,
        end_column=end.get("column"),
        kind=data.get("kind"),
    )


def parse_messages(stdout: str) -> tuple[list[LeanMessage], list[str]]:
    """(messages, lines that were not JSON messages)."""
    messages, other = [], []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            other.append(line)
            continue
        if not isinstance(data, dict) or "severity" not in data:
            other.append(line)
            continue
        messages.append(message_from_dict(data))
    return messages, other


def axioms_of(messages: list[LeanMessage], name: str) -> list[str] | None:
    """The axioms `#print axioms name` reported, or None when it reported nothing for `name`."""
    for message in messages:
        if message.severity != "information":
            continue
        match = _AXIOMS.match(message.text.strip())
        if match and match.group("name").split(".")[-1] == name.split(".")[-1]:
            return [a.strip() for a in match.group("axioms").split(",") if a.strip()]
        match = _NO_AXIOMS.match(message.text.strip())
        if match and match.group("name").split(".")[-1] == name.split(".")[-1]:
            return []
    return None
