"""classify_problems: chained yes/no classifiers (proof, mcq, binary, invalid), routed by config.

Classes run in the configured order. A problem labelled yes by a class whose route is `drop` or
`proofs` leaves the chain, so later classifiers are not asked about it (as in the reference);
route `keep` only records the label. An unparseable answer is recorded as label null and the
problem continues (config `unparseable_as` can make it count as yes instead).
"""

from __future__ import annotations

import logging

from mathforge.errors import ConfigError
from mathforge.funnel import StepStats, write_step
from mathforge.inference.client import SamplingParams
from mathforge.inference.generation import Generator, make_request
from mathforge.inference.models import stage_model
from mathforge.io import read_records
from mathforge.problems.schema import CLASSIFIED_SCHEMA, DROPPED_SCHEMA, llm_meta
from mathforge.prompts import load_prompt
from mathforge.text import parse_label

log = logging.getLogger(__name__)

ROUTES = ("drop", "proofs", "keep")


def classify_problems(
    in_path: str, cfg: dict, out_path: str, proofs_path: str, dropped_path: str, stats_path: str,
    store_path: str,
) -> StepStats:  # fmt: skip
    stage = cfg["problems"]["classification"]
    params = SamplingParams.from_config(stage)
    rows = read_records(in_path)
    stats = StepStats(step="classify_problems", n_in=len(rows))
    for row in rows:
        row["classification"] = []
        row["problem_type"] = "answer"
        row["route"] = "answers"
    active = list(rows)
    with Generator(stage_model(cfg, "problems.classification"), store_path) as gen:
        for cls in stage["classes"]:
            if cls["route"] not in ROUTES:
                raise ConfigError(f"classification class {cls['name']!r}: route must be one of {ROUTES}")
            prompt = load_prompt(cfg["prompts_dir"], cls["prompt"])
            if prompt.labels is None:
                raise ConfigError(f"prompt {prompt.name!r} has no 'labels'; classifier prompts need them")
            requests = [
                make_request(
                    stage_model(cfg, "problems.classification"), prompt.render(problem=r["problem"]), params
                )
                for r in active
            ]
            results = gen.run(requests)
            still_active = []
            for row, request in zip(active, requests, strict=True):
                record = results[request.key]
                label = None if record.get("error") else parse_label(record["text"], *prompt.labels)
                if label is None:
                    stats.extra.setdefault("unparseable", {}).setdefault(cls["name"], 0)
                    stats.extra["unparseable"][cls["name"]] += 1
                    label_for_routing = stage["unparseable_as"] == "yes"
                else:
                    label_for_routing = label
                row["classification"].append(
                    {"class": cls["name"], "label": label, "meta": llm_meta(record, prompt, params)}
                )
                if label_for_routing and cls["route"] != "keep":
                    row["problem_type"] = cls["name"]
                    row["route"] = "drop" if cls["route"] == "drop" else "proofs"
                else:
                    still_active.append(row)
            active = still_active
    stats.extra["requests"] = gen.totals.__dict__
    kept = [r for r in rows if r["route"] == "answers"]
    proofs = [r for r in rows if r["route"] == "proofs"]
    dropped = [
        {"problem_id": r["problem_id"], "thread_uid": r["thread_uid"], "step": "classify_problems",
         "reason": f"class:{r['problem_type']}", "problem": r["problem"], "detail": None}
        for r in rows if r["route"] == "drop"
    ]  # fmt: skip
    for d in dropped:
        stats.drop(d["reason"])
    stats.n_out = len(kept)
    stats.extra["routed_to_proofs"] = len(proofs)
    return write_step(
        stats,
        stats_path,
        (kept, CLASSIFIED_SCHEMA, out_path),
        (proofs, CLASSIFIED_SCHEMA, proofs_path),
        (dropped, DROPPED_SCHEMA, dropped_path),
    )
