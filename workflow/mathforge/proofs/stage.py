"""prove: one shard of formal statements (autoformalized, plus any the user brought) -> one row
per prover attempt, verified or not, with its turns, Lean verdicts and training conversation."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import pyarrow as pa

from mathforge.attribution import ATTRIBUTION_FIELDS, license_of, record_author, record_url
from mathforge.errors import ConfigError, InputError
from mathforge.funnel import StepStats, write_step
from mathforge.ids import canonical_json, sha256_hex, shard_of
from mathforge.inference.endpoints import model_identity
from mathforge.inference.generation import Generator
from mathforge.inference.models import stage_model
from mathforge.io import read_records, read_table_records
from mathforge.lean.backends import lean_backend
from mathforge.lean.checker import ProofChecker
from mathforge.lean.source import theorem_name
from mathforge.prompts import load_prompt, read_yaml_file
from mathforge.proofs.prover import FEEDBACK_KINDS, Attempt, Prover
from mathforge.proofs.shaping import training_messages
from mathforge.schemas.messages import MESSAGE

log = logging.getLogger(__name__)

PROOF_TURN = pa.struct(
    [
        ("turn", pa.int32()),
        ("response", pa.string()),
        ("finish_reason", pa.string()),
        ("completion_tokens", pa.int64()),
        ("proof", pa.string()),
        ("outcome", pa.string()),
        ("lean_status", pa.string()),
        ("lean_reason", pa.string()),
        ("lean_messages", pa.string()),  # JSON list of {severity, text, line, column, ...}
        ("lean_seconds", pa.float64()),
        ("feedback", pa.string()),
        ("reasoning", pa.string()),
        ("max_tokens", pa.int64()),  # answer tokens the request allowed (0: not sent, context full)
    ]
)
PROOF_SCHEMA = pa.schema(
    [
        ("statement_id", pa.string()),
        ("problem_id", pa.string()),
        ("problem", pa.string()),
        ("formal_statement", pa.string()),
        ("lean_header", pa.string()),
        ("source", pa.string()),
        ("license", pa.string()),
        *ATTRIBUTION_FIELDS,
        ("attempt", pa.int32()),
        ("seed", pa.int64()),
        ("verified", pa.bool_()),
        ("verified_turn", pa.int32()),
        ("num_turns", pa.int32()),
        ("stopped", pa.bool_()),  # ended because another attempt proved the statement
        ("failure", pa.string()),  # the last turn's outcome when not verified
        ("proof", pa.string()),  # the verified code (trusted statement + proof), else null
        ("generation", pa.string()),  # the verified turn's full response
        ("reasoning", pa.string()),  # its thinking, when the server returned it apart (else null)
        ("messages", pa.list_(MESSAGE)),  # the training conversation, verified attempts only
        ("completion_tokens", pa.int64()),
        ("turns", pa.list_(PROOF_TURN)),
        ("model", pa.string()),
        ("prompt_name", pa.string()),
        ("prompt_hash", pa.string()),
        ("sampling", pa.string()),
    ]
)


def load_feedback(prompts_dir: str, name: str) -> dict[str, str]:
    path = Path(prompts_dir) / f"{name}.yaml"
    data = read_yaml_file(path, f"feedback templates {name!r}")
    missing = [k for k in FEEDBACK_KINDS if not isinstance((data or {}).get(k), str)]
    if missing:
        raise ConfigError(f"{path}: missing feedback template(s) {missing} (need {list(FEEDBACK_KINDS)})")
    return {k: data[k] for k in FEEDBACK_KINDS}


def _first(record: dict, *names: str) -> str | None:
    for name in names:
        if isinstance(record.get(name), str) and record[name].strip():
            return record[name]
    return None


def _doc_text(prefix: str | None) -> str | None:
    """The text of a `/-- ... -/` doc comment (miniF2F's informal_prefix), or the text itself."""
    if prefix is None:
        return None
    text = prefix.strip()
    if text.startswith("/--") and text.endswith("-/"):
        text = text[3:-2]
    return text.strip() or None


def statement_from_record(
    record: dict, path: str, where: str, default_header: str, source: str, prefix: bool = True
) -> dict:
    """One user-supplied formal statement as the prover's input; InputError naming the record.
    Its id is `<source>:<id>` (`prefix`, so tables cannot collide with each other) or the bare id."""
    statement = _first(record, "formal_statement")
    if statement is None:
        raise InputError(path, where, "expected a string column 'formal_statement'")
    try:
        theorem_name(statement)
    except InputError:
        raise InputError(
            path, where, "'formal_statement' holds no `theorem` or `lemma` declaration"
        ) from None
    header = _first(record, "lean_header", "header") or default_header
    sid = _first(record, "problem_id", "name", "id") or sha256_hex(canonical_json([header, statement]))[:16]
    return {
        "statement_id": f"{source}:{sid}" if prefix else sid, "problem_id": record.get("problem_id"),
        "problem": _doc_text(_first(record, "problem", "informal_prefix", "informal_statement")),
        "formal_statement": statement, "lean_header": header,
    }  # fmt: skip


def _accepted_statements(formal_path: str) -> list[dict]:
    """The accepted statements of an autoformalize shard, as prove's statements."""
    statements = []
    for r in read_records(formal_path):
        if r["status"] != "accepted":
            continue
        try:
            theorem_name(r["formal_statement"])
        except InputError:
            raise InputError(
                formal_path, f"problem_id {r['problem_id']}", "an accepted formal_statement with a `theorem`"
            ) from None
        statements.append(
            {"statement_id": r["problem_id"], "problem_id": r["problem_id"], "problem": r["problem"],
             "formal_statement": r["formal_statement"], "lean_header": r["lean_header"],
             "source": r.get("source"), "license": license_of(r.get("license")),
             "source_url": r.get("source_url"), "authors": r.get("authors") or []}
        )  # fmt: skip
    return statements


def table_attribution(record: dict, table: dict, where: str, statement: dict) -> dict:
    """A user statement's licence (its own, else the table's), URL and author (mathforge.attribution)."""
    license = license_of(record.get("license"), table.get("license"))
    author = record_author(record, "problem", statement["statement_id"], license, table["path"], where)
    return {"license": license, "source_url": record_url(record, table["path"], where),
            "authors": [author] if author else []}  # fmt: skip


def load_statements(formal_paths: list[str], shard: int, cfg: dict, table: dict | None = None) -> list[dict]:
    """The statements of one prove job: a source's part proves the accepted statements of its
    formal shard (`formal_paths`); a statement table's part (`table`, an entry of
    proofs.statement_tables) proves the table's statements hashed to `shard` of formal.n_shards."""
    statements = [s for path in formal_paths for s in _accepted_statements(path)]
    if table:
        n_shards = cfg["formal"]["n_shards"]
        for where, record in read_table_records(table["path"]):
            row = statement_from_record(record, table["path"], where, cfg["lean"]["header"], table["name"])
            if shard_of(row["statement_id"], n_shards) == shard:
                statements.append(
                    {**row, "source": table["name"], **table_attribution(record, table, where, row)}
                )
    where = table["path"] if table else (formal_paths[0] if formal_paths else "prove")
    ids = Counter(s["statement_id"] for s in statements)
    repeated = sorted(k for k, v in ids.items() if v > 1)
    if repeated:
        raise InputError(where, None, f"statement ids must be unique, repeated: {repeated[:5]}")
    return statements


def attempt_row(statement: dict, attempt: Attempt, stage: dict, provenance: dict) -> dict:
    """One attempt as a proofs row; its `messages` keep the conversation's system message (whether
    training data keeps it is the SFT writer's setting, `sft.system_prompt`)."""
    verified_step = attempt.turns[attempt.verified_turn - 1] if attempt.verified else None
    last = attempt.turns[-1].outcome if attempt.turns else "no_turns"
    return {
        "statement_id": statement["statement_id"],
        "problem_id": statement.get("problem_id"),
        "problem": statement.get("problem"),
        "formal_statement": statement["formal_statement"],
        "lean_header": statement["lean_header"],
        "source": statement.get("source"),
        "license": license_of(statement.get("license")),
        "source_url": statement.get("source_url"),
        "authors": statement.get("authors") or [],
        "attempt": attempt.attempt,
        "seed": attempt.seed,
        "verified": attempt.verified,
        "verified_turn": attempt.verified_turn,
        "num_turns": len(attempt.turns),
        "stopped": attempt.stopped,
        "failure": None if attempt.verified else ("stopped" if attempt.stopped else last),
        "proof": verified_step.proof if verified_step else None,
        "generation": verified_step.response if verified_step else None,
        "reasoning": verified_step.reasoning if verified_step else None,
        "messages": training_messages(attempt, stage["remove_cot"], stage["delete_wrong_turns"]),
        "completion_tokens": sum(t.completion_tokens or 0 for t in attempt.turns),
        "turns": [
            {**t.__dict__, "lean_messages": json.dumps(t.lean_messages, ensure_ascii=False)}
            for t in attempt.turns
        ],
        **provenance,
    }


def run_prover(
    statements: list[dict], cfg: dict, stage: dict, inference_cfg: dict, store_path: str,
    n_pass: int, stop_at_first: bool,
) -> tuple[dict[str, list[Attempt]], dict]:  # fmt: skip
    """Run the prover over `statements` with the configured Lean; (attempts, counters)."""
    prompt = load_prompt(cfg["prompts_dir"], stage["prompts"]["prove"])
    feedback = load_feedback(cfg["prompts_dir"], stage["prompts"]["feedback"])
    backend = lean_backend(cfg)
    checker = ProofChecker(backend, cfg["lean"], f"{store_path.removesuffix('.jsonl')}.lean.jsonl")
    try:
        with Generator(inference_cfg, store_path) as gen:
            prover = Prover(stage, inference_cfg, prompt, feedback, gen, checker)
            attempts = prover.run(statements, n_pass, stop_at_first)
            counters = {
                "requests": gen.totals.__dict__,
                "seconds": {k: round(v, 3) for k, v in prover.seconds.items()},
                "lean": {
                    "checked": checker.checked,
                    "cached": checker.cached,
                    "seconds": round(checker.seconds, 3),
                },
            }
    finally:
        checker.close()
        if hasattr(backend, "close"):
            backend.close()
    return attempts, counters


def run(
    formal_paths: list[str],
    shard: int,
    cfg: dict,
    out_path: str,
    summary_path: str,
    store_path: str,
    statement_table: dict | None = None,
) -> StepStats:
    stage = cfg["proofs"]
    statements = load_statements(formal_paths, shard, cfg, statement_table)
    stats = StepStats(step="prove", n_in=len(statements))
    attempts: dict[str, list[Attempt]] = {}
    if statements:
        attempts, counters = run_prover(
            statements,
            cfg,
            stage,
            stage_model(cfg, "proofs"),
            store_path,
            stage["n_pass"],
            stage["stop_at_first"],
        )
        stats.counters.update(counters)
    prompt_name = stage["prompts"]["prove"]
    provenance = {
        "model": model_identity(stage_model(cfg, "proofs")),
        "prompt_name": prompt_name,
        "prompt_hash": load_prompt(cfg["prompts_dir"], prompt_name).hash,
        "sampling": json.dumps(stage["sampling"], sort_keys=True),
    }
    rows = [attempt_row(s, a, stage, provenance) for s in statements for a in attempts[s["statement_id"]]]
    proved = {r["statement_id"] for r in rows if r["verified"]}
    for s in statements:
        if s["statement_id"] not in proved:
            stats.drop("unproved")
    stats.n_out = len(proved)
    stats.notes["shard"] = shard
    stats.counters.update(
        {
            "attempts": len(rows),
            "verified_attempts": sum(r["verified"] for r in rows),
            "turn_outcomes": dict(Counter(t["outcome"] for r in rows for t in r["turns"])),
            "verified_at_turn": dict(Counter(str(r["verified_turn"]) for r in rows if r["verified"])),
        }
    )
    return write_step(stats, summary_path, (rows, PROOF_SCHEMA, out_path))
