"""Arrow schema of `solutions/<source>/shard-<k>.parquet`: one row per solution (fixed, so an empty shard
has the same columns as a full one)."""

from __future__ import annotations

import pyarrow as pa

from mathforge.schemas.problems import PROBLEM_LABELS, PROVENANCE

FORUM_COT_MODE = "forum_cot"  # the `mode` of the forum_cot stage's rows and the SFT variant's name
CODE_CELL = pa.struct(
    [
        ("code", pa.string()),
        ("output", pa.string()),  # captured stdout+stderr, truncated with a marker
        ("status", pa.string()),  # ok | error | timeout | crashed
        ("error", pa.string()),  # the traceback / reason shown to the model after the output
        ("truncated", pa.bool_()),
        ("restarted", pa.bool_()),  # the session was killed and started empty (state lost)
        ("seconds", pa.float64()),
        ("orphans_killed", pa.int32()),  # processes the cell left running, killed when it ended
    ]
)

SOLUTIONS_SCHEMA = pa.schema(
    [
        ("problem_id", pa.string()),
        ("problem", pa.string()),
        ("expected_answer", pa.string()),
        *PROVENANCE,
        *PROBLEM_LABELS,  # language, question_type, problem_type of the problem
        ("mode", pa.string()),  # tir | plain
        ("effort", pa.string()),  # high | medium | low
        ("sample_index", pa.int32()),  # 0..n-1 within (problem, effort, mode)
        ("seed", pa.int64()),
        ("generation", pa.string()),  # the answer (all the text without reasoning), cells included
        (
            "reasoning",
            pa.string(),
        ),  # the thinking (analysis channel, <think>, API field); or null
        ("predicted_answer", pa.string()),  # last \boxed{}, brace-matched; null if none
        ("finish_reason", pa.string()),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),  # generated tokens over all turns (tool outputs excluded)
        ("num_llm_calls", pa.int32()),
        ("num_code_executions", pa.int32()),
        ("code_cells", pa.list_(CODE_CELL)),
        ("sandbox_isolation", pa.list_(pa.string())),
        ("model", pa.string()),
        ("endpoint_kind", pa.string()),
        ("prompt_name", pa.string()),
        ("prompt_hash", pa.string()),
        ("code_tags", pa.string()),  # name@hash, TIR only
        ("sampling", pa.string()),  # JSON of the sampling parameters (seed and budget included)
        ("request_key", pa.string()),
        ("latency_s", pa.float64()),
        ("error", pa.string()),
    ]
)
