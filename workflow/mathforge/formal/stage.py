"""autoformalize: one shard of proof problems -> formal statements with their turn history."""

from __future__ import annotations

import functools
import json
import logging
from collections import Counter

import pyarrow as pa

from mathforge.formal.autoformalize import Autoformalizer
from mathforge.funnel import StepStats, write_step
from mathforge.inference.generation import Generator
from mathforge.inference.models import stage_model
from mathforge.io import read_shard_records
from mathforge.lean.backends import lean_backend
from mathforge.lean.verify import check_statement
from mathforge.schemas.problems import PROVENANCE

log = logging.getLogger(__name__)

TURN = pa.struct(
    [
        ("turn", pa.int32()),
        ("effort", pa.string()),
        ("response", pa.string()),
        ("finish_reason", pa.string()),
        ("statement", pa.string()),
        ("outcome", pa.string()),
        ("lean_status", pa.string()),
        ("lean_messages", pa.string()),  # JSON list of {severity, text, line, column, ...}
        ("backtranslation", pa.string()),
        ("judge_output", pa.string()),
        ("reasoning", pa.string()),  # the formalizer's thinking (null: none returned)
    ]
)
FORMAL_SCHEMA = pa.schema(
    [
        ("problem_id", pa.string()),
        ("problem", pa.string()),
        *PROVENANCE,
        ("formal_statement", pa.string()),  # null unless accepted
        ("lean_header", pa.string()),
        ("status", pa.string()),  # accepted | failed
        ("failure", pa.string()),  # the last turn's outcome when failed
        ("num_turns", pa.int32()),
        ("placeholder_flag", pa.bool_()),
        ("turns", pa.list_(TURN)),
    ]
)


def run(
    in_path: str,
    shard: int,
    cfg: dict,
    out_path: str,
    summary_path: str,
    store_path: str,
    n_shards: int | None = None,
) -> StepStats:
    n_shards = n_shards or cfg["formal"]["n_shards"]  # the source's shards (its own, else formal.n_shards)
    problems = read_shard_records(in_path, "problem_id", shard, n_shards)
    stats = StepStats(step="autoformalize", n_in=len(problems))
    results = []
    if problems:
        backend = lean_backend(cfg)
        try:
            with Generator(stage_model(cfg, "formal"), store_path) as gen:
                results = Autoformalizer(
                    cfg,
                    gen,
                    functools.partial(check_statement, backend, sorry_term=cfg["lean"]["sorry_term"]),
                ).run(problems)
                stats.counters["requests"] = gen.totals.__dict__
        finally:
            if hasattr(backend, "close"):
                backend.close()
    rows = []
    for problem, task in zip(problems, results, strict=True):
        last = task.turns[-1].outcome if task.turns else "no_turns"
        rows.append(
            {
                "problem_id": task.problem_id,
                "problem": task.problem,
                **{name: problem.get(name) for name, _ in PROVENANCE},
                "formal_statement": task.formal_statement,
                "lean_header": cfg["lean"]["header"],
                "status": task.status,
                "failure": None if task.status == "accepted" else last,
                "num_turns": len(task.turns),
                "placeholder_flag": any(t.outcome == "placeholder" for t in task.turns),
                "turns": [
                    {**t.__dict__, "lean_messages": json.dumps(t.lean_messages, ensure_ascii=False)}
                    for t in task.turns
                ],
            }
        )
        if task.status != "accepted":
            stats.drop(f"failed:{last}")
    stats.n_out = sum(r["status"] == "accepted" for r in rows)
    stats.notes["shard"] = shard
    stats.counters.update(
        {
            "turn_outcomes": dict(Counter(t["outcome"] for r in rows for t in r["turns"])),
            "accepted_at_turn": dict(Counter(str(r["num_turns"]) for r in rows if r["status"] == "accepted")),
        }
    )
    return write_step(stats, summary_path, (rows, FORMAL_SCHEMA, out_path))
