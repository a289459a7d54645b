"""Arrow schemas of the problems artifacts (fixed, so empty shards have the same types)."""

from __future__ import annotations

import json

import pyarrow as pa

from mathforge.attribution import ATTRIBUTION_FIELDS
from mathforge.inference.client import SamplingParams
from mathforge.truncation import TRUNCATED_FIELD

LLM_META = pa.struct(
    [
        ("model", pa.string()),
        ("endpoint_kind", pa.string()),
        ("prompt_name", pa.string()),
        ("prompt_hash", pa.string()),
        ("request_key", pa.string()),
        ("sampling", pa.string()),  # JSON of the sampling parameters
        ("seed", pa.int64()),
        ("finish_reason", pa.string()),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("raw_output", pa.string()),
        ("error", pa.string()),
    ]
)

PROVENANCE = [
    ("source", pa.string()),
    ("site", pa.string()),
    ("thread_id", pa.string()),
    ("post_id", pa.string()),
    ("license", pa.string()),  # never null: "unknown" when neither the record nor the config gives one
    *ATTRIBUTION_FIELDS,  # source_url, authors (mathforge.attribution)
    ("source_file", pa.string()),
    ("source_record", pa.string()),
]
PROVENANCE_NAMES = tuple(name for name, _ in PROVENANCE)

EXTRACTED_FIELDS = [
    ("problem_id", pa.string()),
    ("problem", pa.string()),
    ("problem_index", pa.int32()),
    ("thread_uid", pa.string()),
    *PROVENANCE,
    ("forum_post", pa.string()),
    ("forum_discussions", pa.string()),
    TRUNCATED_FIELD,  # cuts made to forum_post / forum_discussions at ingest (mathforge.truncation)
    ("expected_answer", pa.string()),
    ("extraction", LLM_META),
]
EXTRACTED_SCHEMA = pa.schema(EXTRACTED_FIELDS)

# detect_language (mathforge.problems.translate); null when problems.language is off.
LANGUAGE_FIELDS = [
    ("language", pa.string()),  # ISO 639-1 code of the prose, "und" when undetermined
    ("language_confidence", pa.float64()),
    ("original_problem", pa.string()),  # the text before translation; null when not translated
    ("translation", LLM_META),
]
LANGUAGE_SCHEMA = pa.schema([*EXTRACTED_FIELDS, *LANGUAGE_FIELDS])

# The labels of a problem that travel with it into solutions and SFT rows (like PROVENANCE).
PROBLEM_LABELS = [
    ("language", pa.string()),
    ("question_type", pa.string()),  # first classifier class labelled yes, or "answer" if none
    ("problem_type", pa.string()),  # subject (problems.problem_type.labels), null when off/unparseable
]
PROBLEM_LABEL_NAMES = tuple(name for name, _ in PROBLEM_LABELS)

CLASS_CALL = pa.struct([("class", pa.string()), ("label", pa.bool_()), ("meta", LLM_META)])
CLASSIFIED_SCHEMA = pa.schema(
    [
        *EXTRACTED_FIELDS,
        *LANGUAGE_FIELDS,
        ("question_type", pa.string()),  # first class labelled yes, or "answer" if none
        ("problem_type", pa.string()),  # the subject, or null (problems.problem_type)
        ("route", pa.string()),  # answers | proofs | drop
        ("classification", pa.list_(CLASS_CALL)),
        ("problem_typing", LLM_META),  # the subject request, null when off
    ]
)

ANSWERS_SCHEMA = pa.schema(
    [
        *CLASSIFIED_SCHEMA,
        (
            "answer_status",
            pa.string(),
        ),  # found | not_found | unparseable | no_discussion | provided | rejected
        ("answer_extraction", LLM_META),
    ]
)

DROPPED_SCHEMA = pa.schema(
    [
        ("problem_id", pa.string()),
        ("thread_uid", pa.string()),
        ("step", pa.string()),
        ("reason", pa.string()),
        ("problem", pa.string()),
        ("detail", pa.string()),
    ]
)


def llm_meta(record: dict | None, prompt, params: SamplingParams) -> dict:
    record = record or {}
    return {
        "model": record.get("model"),
        "endpoint_kind": record.get("endpoint_kind"),
        "prompt_name": prompt.name,
        "prompt_hash": prompt.hash,
        "request_key": record.get("key"),
        "sampling": json.dumps(params.to_payload(), sort_keys=True),
        "seed": params.seed,
        "finish_reason": record.get("finish_reason"),
        "prompt_tokens": record.get("prompt_tokens"),
        "completion_tokens": record.get("completion_tokens"),
        "raw_output": record.get("text"),
        "error": record.get("error"),
    }
