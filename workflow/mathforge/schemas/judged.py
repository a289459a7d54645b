"""Arrow schemas of the judging and forum_cot artifacts (under `answers/`; fixed, so empty shards
have the same columns)."""

from __future__ import annotations

import pyarrow as pa

from mathforge.schemas.problems import LLM_META
from mathforge.schemas.solutions import SOLUTIONS_SCHEMA

JUDGE_FIELDS = [
    ("judgement", pa.bool_()),  # null only without an expected answer
    ("judge_method", pa.string()),  # exact | integer | symbolic | llm | llm_unparseable | missing | ...
    ("judge_meta", LLM_META),  # the LLM judge call, when one was made
]

# answers/judged/<source>/shard-K.parquet: every solution judged against the forum's expected answer.
JUDGED_SCHEMA = pa.schema([*SOLUTIONS_SCHEMA, *JUDGE_FIELDS])

# answers/final_judged/<source>/shard-K.parquet: re-judged against the final (repaired) expected answer.
FINAL_JUDGED_SCHEMA = pa.schema(
    [
        *[f for f in SOLUTIONS_SCHEMA],
        ("forum_answer", pa.string()),
        ("answer_rule", pa.string()),
        *JUDGE_FIELDS,
        ("forum_judgement", pa.bool_()),
    ]
)

VOTE_CLASS = pa.struct([("answer", pa.string()), ("votes", pa.int32()), ("spellings", pa.list_(pa.string()))])
SOLVE_RATE = pa.struct(
    [("variant", pa.string()), ("solutions", pa.int32()), ("correct", pa.int32()), ("rate", pa.float64())]
)

# answers/majority/<source>/shard-K.parquet: one row per problem.
MAJORITY_SCHEMA = pa.schema(
    [
        ("problem_id", pa.string()),
        ("problem", pa.string()),
        ("forum_answer", pa.string()),
        ("majority_answer", pa.string()),  # null: no reliable majority (see majority_status)
        ("majority_status", pa.string()),  # majority | no_answers | below_min_votes | below_min_fraction
        ("majority_votes", pa.int32()),
        ("n_solutions", pa.int32()),
        ("vote_classes", pa.list_(VOTE_CLASS)),  # every equivalence class, largest first
        ("forum_agreeing", pa.int32()),  # solutions judged equal to the forum answer
        ("expected_answer", pa.string()),  # the final answer after the repair rule (null: none)
        (
            "answer_rule",
            pa.string(),
        ),  # forum_agrees | no_forum_answer | forum_contradicted | no_reliable_answer
        ("n_correct", pa.int32()),  # solutions equal to the final answer
        ("solve_rate", pa.float64()),
        ("solve_rates", pa.list_(SOLVE_RATE)),  # per mode/effort
        ("difficulty_ok", pa.bool_()),  # within answers.difficulty's solve-rate range
        ("answer_in_statement", pa.string()),  # where the statement states the final answer (no SFT)
    ]
)

# The majority table with forum_cot.count_as_votes: the rewrites' boxed answers voted too.
MAJORITY_VOTES_SCHEMA = pa.schema(
    [
        *MAJORITY_SCHEMA,
        ("rewrite_votes", pa.int32()),  # rewrite ballots counted (in majority_votes and vote_classes)
        ("rewrite_changed_majority", pa.bool_()),  # null: no ballot
        ("rewrite_changed_answer", pa.bool_()),  # the final expected answer differs without the ballot
    ]
)

# answers/forum_cot/<source>/shard-K.parquet: forum answers rewritten into solutions
# (rewrite_forum_solutions),
# every attempt with its status; only `kept` rows (judged equal to the final answer) reach SFT.
FORUM_COT_SCHEMA = pa.schema(
    [
        *FINAL_JUDGED_SCHEMA,
        ("source_post_index", pa.int32()),  # the reply of forum_discussions rewritten (1-based)
        ("source_post", pa.string()),  # that reply's text, as the model saw it
        (
            "forum_cot_status",
            pa.string(),
        ),  # kept | disagrees_with_expected_answer | no_boxed_answer | unfinished | rewrite_rejected;
        # with forum_cot.count_as_votes also own_vote_changed_answer | problem_not_sft:<reason>
        # (and REWRITE_VOTED in answers/forum_cot_votes/rewrites/: a ballot, judged after the vote)
    ]
)

REWRITE_VOTED = "voted"
