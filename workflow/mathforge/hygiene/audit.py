"""The SFT hygiene audit: named row checks run over every SFT row before the shards are final.

Each check says why a row fails it, or None. A row that must never ship (not in the
decontaminated set, not judged correct against the final answer) fails the run with an error
naming it; a row failing any other check is dropped, with the check's name as the drop reason. A
row is counted under the first check it fails, in the order of `CHECKS` (fatal checks first, the
duplicate check last so only rows that pass everything else claim their text). The checks run
again over the rows read back from the written shards: every shipped row must pass them all.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pyarrow.parquet as pq

from mathforge.benchmarks import load_benchmarks
from mathforge.errors import MathforgeError
from mathforge.hygiene.messages import structure_problem
from mathforge.hygiene.near_identical import NearIdenticalIndex
from mathforge.hygiene.statement import states_answer
from mathforge.hygiene.tool_output import invented_output, output_markers, output_mismatch
from mathforge.solving.code_tags import CodeTags, load_code_tags

MAX_NAMED = 20  # rows named in an error message (the rest are counted)


class SFTAuditError(MathforgeError):
    """Rows that must never ship reached the SFT shards."""


@dataclass
class AuditContext:
    """What the checks compare a row with: the run's own artifacts and the benchmarks."""

    decontaminated: set[str]  # problem ids of decontam/answers/<source>/set.parquet
    removed: dict[str, str]  # problem id -> why decontamination removed it (its audit)
    solutions: dict[str, dict]  # request key -> final-judged solution (verdict, code cells)
    final_answers: dict[str, str | None]  # problem id -> expected answer after the vote and repair
    benchmarks: NearIdenticalIndex
    output_markers: tuple[str, ...]
    prompts_dir: str
    dedup: bool = True
    seen: set[bytes] = field(default_factory=set)
    tags: dict[str, CodeTags] = field(default_factory=dict)

    def code_tags(self, solution: dict) -> CodeTags:
        name = (solution["code_tags"] or "").split("@", 1)[0]
        if name not in self.tags:
            self.tags[name] = load_code_tags(self.prompts_dir, name)
        return self.tags[name]

    def fresh(self) -> AuditContext:
        """The same context with no rows seen yet (for a second pass)."""
        return replace(self, seen=set())


@dataclass(frozen=True)
class RowCheck:
    name: str
    description: str
    fatal: bool  # True: a failing row must never ship and fails the run; False: it is dropped
    failure: Callable[[dict, AuditContext], str | None]


def decontaminated(row: dict, ctx: AuditContext) -> str | None:
    pid = row["problem_id"]
    if pid in ctx.removed:
        return f"removed by decontamination ({ctx.removed[pid]})"
    return None if pid in ctx.decontaminated else "not in the decontaminated set"


def judged_correct(row: dict, ctx: AuditContext) -> str | None:
    solution = ctx.solutions.get(row["request_key"])
    if solution is None or solution["problem_id"] != row["problem_id"]:
        return f"no final-judged solution with request key {row['request_key']!r}"
    if solution["judgement"] is not True:
        return f"final verdict is {solution['judgement']!r}"
    final = ctx.final_answers.get(row["problem_id"])
    if final is None or row["expected_answer"] != final:
        return f"expected answer {row['expected_answer']!r} is not the final answer {final!r}"
    return None


def invented_tool_output(row: dict, ctx: AuditContext) -> str | None:
    return None if row["tool"] else invented_output(row["generation"], ctx.output_markers)


def tool_output_mismatch(row: dict, ctx: AuditContext) -> str | None:
    if not row["tool"]:
        return None
    solution = ctx.solutions[row["request_key"]]
    return output_mismatch(row["generation"], solution["code_cells"] or [], ctx.code_tags(solution))


def benchmark_near_identical(row: dict, ctx: AuditContext) -> str | None:
    hit = ctx.benchmarks.best_match(row["problem"])
    return None if hit is None else f"{hit.item.benchmark} item {hit.item.item_id} (edit ratio {hit.ratio})"


def answer_stated(row: dict, ctx: AuditContext) -> str | None:
    return states_answer(row["problem"] or "", row["expected_answer"] or "")


def message_structure(row: dict, ctx: AuditContext) -> str | None:
    return structure_problem(list(row["messages"] or []), row["problem"] or "")


def messages_key(messages: list[dict]) -> bytes:
    """What makes two conversations the same (roles, whitespace-normalised contents, tool calls),
    as a SHA-256 digest: the duplicate check's key within a job and across SFT parts."""
    turns = [
        [m.get("role"), " ".join((m.get("content") or "").split()), m.get("tool_calls")] for m in messages
    ]
    return hashlib.sha256(json.dumps(turns, sort_keys=True, default=str).encode()).digest()


def duplicate_messages(row: dict, ctx: AuditContext) -> str | None:
    if not ctx.dedup:
        return None
    key = messages_key(row["messages"])
    if key in ctx.seen:
        return "the same messages as an earlier row"
    ctx.seen.add(key)
    return None


# The audit, in order: a row counts under the first check it fails (see the module docstring).
CHECKS: tuple[RowCheck, ...] = (
    RowCheck(
        "decontaminated", "problem in the decontaminated set, not removed by its audit", True, decontaminated
    ),
    RowCheck(
        "judged_correct", "judged correct against the final answer (after the vote)", True, judged_correct
    ),
    RowCheck("answer_in_statement", "the statement does not state its own answer", False, answer_stated),
    RowCheck(
        "invented_tool_output",
        "no tool output or call in a solution without the tool",
        False,
        invented_tool_output,
    ),
    RowCheck(
        "tool_output_mismatch",
        "each output block is the sandbox's output of its cell",
        False,
        tool_output_mismatch,
    ),
    RowCheck(
        "benchmark_near_identical",
        "problem not near-identical to a benchmark item",
        False,
        benchmark_near_identical,
    ),
    RowCheck(
        "message_structure",
        "roles in order, no empty turn, user turn holds the problem",
        False,
        message_structure,
    ),
    RowCheck("duplicate_messages", "not the same messages as another row", False, duplicate_messages),
)


@dataclass
class AuditResult:
    """Rows kept, rows failing a check (row, check, detail), and counts per variant."""

    kept: list[dict] = field(default_factory=list)
    failed: list[tuple[dict, RowCheck, str]] = field(default_factory=list)
    counts: dict[str, Counter] = field(default_factory=dict)

    @property
    def fatal(self) -> list[tuple[dict, RowCheck, str]]:
        return [f for f in self.failed if f[1].fatal]


def audit_rows(rows: list[dict], ctx: AuditContext, checks: tuple[RowCheck, ...] = CHECKS) -> AuditResult:
    """Run `checks` over `rows` in order; a row stops at the first check it fails."""
    result = AuditResult()
    for row in rows:
        counts = result.counts.setdefault(row["variant"], Counter())
        counts["checked"] += 1
        for check in checks:
            detail = check.failure(row, ctx)
            if detail is not None:
                counts[check.name] += 1
                result.failed.append((row, check, detail))
                break
        else:
            result.kept.append(row)
    return result


def _named(failures: list[tuple[dict, RowCheck, str]]) -> str:
    named = [
        f"problem {row['problem_id']} ({row['variant']}, seed {row['seed']}): {check.name}: {detail}"
        for row, check, detail in failures[:MAX_NAMED]
    ]
    more = len(failures) - MAX_NAMED
    return "; ".join(named) + (f"; and {more} more" if more > 0 else "")


def raise_if_fatal(result: AuditResult) -> None:
    if result.fatal:
        raise SFTAuditError(f"{len(result.fatal)} SFT row(s) must never ship: {_named(result.fatal)}")


def raise_if_any_failed(shipped: AuditResult, where: str) -> None:
    """The second pass, over what was written: any failure here is a bug in the writer."""
    if shipped.failed:
        raise SFTAuditError(
            f"{len(shipped.failed)} row(s) of {where} fail the audit: {_named(shipped.failed)}"
        )


def _problem_ids(path: str) -> list[str]:
    return pq.read_table(path, columns=["problem_id"]).column("problem_id").to_pylist()


def load_context(
    cfg: dict,
    solutions: list[dict],
    problems: dict[str, dict],
    decontam_sets: list[str],
    decontam_audits: list[str],
) -> AuditContext:
    """The audit's view of the run: decontaminated sets and removals (every source's), final
    verdicts and answers, the benchmarks that apply to answer problems, every code-tags output marker."""
    audit = [
        r
        for path in decontam_audits
        for r in pq.read_table(path, columns=["problem_id", "reason"]).to_pylist()
    ]
    items = load_benchmarks(cfg["decontam"]["benchmarks"], "answers")
    return AuditContext(
        decontaminated={pid for path in decontam_sets for pid in _problem_ids(path)},
        removed={a["problem_id"]: a["reason"] for a in audit},
        solutions={s["request_key"]: s for s in solutions},
        final_answers={pid: p["expected_answer"] for pid, p in problems.items()},
        benchmarks=NearIdenticalIndex(items, cfg["sft"]["hygiene"]["benchmark_edit_ratio"]),
        output_markers=output_markers(cfg["prompts_dir"]),
        prompts_dir=cfg["prompts_dir"],
        dedup=cfg["sft"]["dedup"],
    )
