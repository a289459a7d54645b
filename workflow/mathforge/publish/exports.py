"""export_dataset: a dataset folder -> JSONL per variant and split in one trainer format.

- `chat`: `messages` as the shards carry them (`reasoning_content`, `tool_calls` / `tool` turns;
  unset fields left out), for TRL / NeMo-RL style chat SFT.
- `nemo_skills`: NeMo-Skills SFT `input` (the user turn; `system` beside it) and `output` (the
  response as text: thinking in `<think>`, tool calls and outputs as ```python / ```output blocks).
  A conversation with a user turn after the first response (multi-turn proof repair) has no such
  form: it is skipped and counted.
- `text`: the conversation rendered with a tokenizer's chat template, with its token count, checked
  against the row's length bucket (rows longer than their bucket's bound are counted); thinking a
  template does not render goes into the content as `<think>` (counted as `reasoning_inlined`).
Rows keep their ids and licence (`problem_id`, `statement_id`, `expected_answer`, `variant`,
`bucket`, `license`, `source_url`) next to the trainer fields.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from mathforge.errors import ConfigError
from mathforge.io import atomic_dir, write_json
from mathforge.publish.stats import row_counts, token_stats
from mathforge.schemas.messages import with_reasoning_format

log = logging.getLogger(__name__)

KEPT_FIELDS = ("problem_id", "statement_id", "expected_answer", "variant", "bucket", "license", "source_url")


def clean_message(message: dict) -> dict:
    """A message without its unset fields (Parquet structs carry every field); `content` stays."""
    return {k: v for k, v in message.items() if k == "content" or (v is not None and v != [])}


def ids(row: dict) -> dict:
    return {k: row[k] for k in KEPT_FIELDS if k in row}


def chat_record(row: dict) -> dict:
    return {"messages": [clean_message(m) for m in row["messages"]], **ids(row)}


def response_text(turns: list[dict]) -> str:
    parts = []
    for m in turns:
        if m["role"] == "tool":
            parts.append(f"```output\n{m['content']}\n```")
            continue
        if m.get("reasoning_content"):
            parts.append(f"<think>\n{m['reasoning_content']}\n</think>")
        if m.get("content"):
            parts.append(m["content"])
        for call in m.get("tool_calls") or []:
            code = json.loads(call["function"]["arguments"]).get("code", "")
            parts.append(f"```python\n{code}\n```")
    return "\n\n".join(parts)


def nemo_skills_record(row: dict) -> dict | None:
    """`input`/`output` of a single-exchange conversation (None when it has a later user turn)."""
    messages = row["messages"]
    first = next(i for i, m in enumerate(messages) if m["role"] == "assistant")
    if any(m["role"] == "user" for m in messages[first:]):
        return None
    system = [m["content"] for m in messages[:first] if m["role"] == "system"]
    user = "\n\n".join(m["content"] for m in messages[:first] if m["role"] == "user")
    return {"input": user, **({"system": system[0]} if system else {}),
            "output": response_text(messages[first:]), **ids(row)}  # fmt: skip


def template_messages(messages: list[dict]) -> list[dict]:
    """Messages as chat templates take them: tool call arguments as objects, not JSON strings."""
    out = []
    for m in map(clean_message, messages):
        if m.get("tool_calls"):
            m["tool_calls"] = [
                {**c, "function": {**c["function"], "arguments": json.loads(c["function"]["arguments"])}}
                for c in m["tool_calls"]
            ]
        out.append(m)
    return out


def load_tokenizer(path: Path):
    """The tokenizer of a local folder (never the Hub); a missing folder or template fails clearly."""
    from transformers import AutoTokenizer

    if not path.is_dir():
        raise ConfigError(f"publish.tokenizer: {path} is not a folder")
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if not tokenizer.chat_template:
        raise ConfigError(f"publish.tokenizer: {path} has no chat template")
    return tokenizer


def bucket_bound(bucket: str) -> int | None:
    return int(bucket[2:]) if bucket.startswith("le") else None


def render(tokenizer, messages: list[dict], counts: Counter) -> str:
    """The conversation in the template; thinking the template leaves out (templates without
    reasoning support) goes into the content as `<think>...</think>` instead, and is counted."""
    text = tokenizer.apply_chat_template(template_messages(messages), tokenize=False)
    thinking = [m["reasoning_content"] for m in messages if m.get("reasoning_content")]
    if any(t.strip() not in text for t in thinking):
        counts["reasoning_inlined"] += 1
        inline = with_reasoning_format(messages, "think")
        text = tokenizer.apply_chat_template(template_messages(inline), tokenize=False)
    return text


def text_recorder(tokenizer, counts: Counter) -> Callable[[dict], dict]:
    def record(row: dict) -> dict:
        text = render(tokenizer, row["messages"], counts)
        n = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        bound = bucket_bound(row.get("bucket") or "")
        counts["longer_than_bucket"] += bool(bound and n > bound)
        return {"text": text, "num_tokens": n, **ids(row)}

    return record


def write_jsonl(records: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def export_split(folder: Path, files: list[str], convert: Callable, out: Path) -> dict:
    rows = [row for f in files for row in pq.read_table(folder / f).to_pylist()]
    records = [convert(row) for row in rows]
    kept = [r for r in records if r is not None]
    write_jsonl(kept, out)
    summary = {"rows": len(kept), "skipped": {"multi_turn_conversation": len(rows) - len(kept)}}
    if kept and "text" in kept[0]:
        summary["text_tokens"] = token_stats([r["num_tokens"] for r in kept])
    return summary


def export_dataset(folder: str, fmt: str, out_dir: str, tokenizer_path: str | None = None) -> dict:
    """Write `<out_dir>/<variant>/<split>.jsonl` and `manifest.json`; returns the manifest."""
    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    counts: Counter = Counter({"reasoning_inlined": 0, "longer_than_bucket": 0})
    if fmt == "text":
        from mathforge.publish.checks import tokenizer_dir

        convert = text_recorder(load_tokenizer(tokenizer_dir(tokenizer_path or "")), counts)
    else:
        convert = {"chat": chat_record, "nemo_skills": nemo_skills_record}[fmt]
    out: dict = {"format": fmt, "kind": manifest["kind"], "variants": {}}
    with atomic_dir(out_dir) as tmp:
        for variant, splits in manifest["variants"].items():
            for split, entry in splits.items():
                if split != "all":
                    path = tmp / variant / f"{split}.jsonl"
                    out["variants"].setdefault(variant, {})[split] = export_split(
                        Path(folder), entry["files"], convert, path
                    )
        if fmt == "text":
            out["tokenizer"] = str(tokenizer_path)
            out["checks"] = dict(counts)
        write_json(out, tmp / "manifest.json")
    log.info("%s export: %s", fmt, row_counts(out["variants"]))
    return out
