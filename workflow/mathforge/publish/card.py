"""The dataset folder's README.md: Hub YAML metadata (licences, language, task categories, size
category, source datasets, one `configs` entry per variant with its split files), the card body, the
split statistics and how to load the folder; and the proof dataset's own card body."""

from __future__ import annotations

import re

import yaml

from mathforge.attribution import licence_section
from mathforge.funnel import StepStats

# Hub licence ids the rows' licence strings map to; any other licence is declared `other`.
HUB_LICENSES = {
    "apache-2.0", "mit", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0",
    "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "odc-by", "unknown",
}  # fmt: skip
SIZE_CATEGORIES = (
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"),
)  # fmt: skip


def hub_license(name: str) -> str:
    """`CC BY-SA 4.0` -> `cc-by-sa-4.0`, `CC0-1.0` -> `cc0-1.0`; unlisted licences -> `other`."""
    hub_id = re.sub(r"[\s_]+", "-", name.strip().lower())
    return hub_id if hub_id in HUB_LICENSES else "other"


def size_category(rows: int) -> str:
    return next((name for bound, name in SIZE_CATEGORIES if rows < bound), "n>100M")


def hub_metadata(publish: dict, title: str, licenses: dict[str, int], files: dict[str, dict]) -> dict:
    """The card's YAML header; `files` maps variant -> split -> its file paths in the folder."""
    hub_ids = sorted({hub_license(name) for name in licenses}) or ["unknown"]
    configs = [
        {
            "config_name": variant,
            "data_files": [{"split": s, "path": f"data/{variant}/{s}-*.parquet"} for s in splits],
            **({"default": True} if i == 0 else {}),
        }
        for i, (variant, splits) in enumerate(files.items())
    ]
    meta = {
        "pretty_name": title,
        "license": hub_ids,
        "language": publish["language"],
        "task_categories": publish["task_categories"],
        "tags": publish["tags"],
        "size_categories": [size_category(sum(licenses.values()))],
        "source_datasets": publish["source_datasets"],
        "configs": configs,
    }
    others = sorted(name for name in licenses if hub_license(name) == "other")
    if others:
        meta["license_name"] = "; ".join(others)  # the Hub's field for a licence it has no id for
    return meta


def front_matter(meta: dict) -> str:
    return f"---\n{yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)}---\n"


def without_section(body: str, heading: str) -> str:
    """`body` without the `## heading` section (up to the next `## ` heading)."""
    return re.sub(rf"(?ms)^## {re.escape(heading)}\n.*?(?=^## |\Z)", "", body)


def loading_section(variants: list[str], folder_name: str) -> list[str]:
    example = variants[0] if variants else "<variant>"
    return [
        "## Loading",
        "",
        f"One configuration per variant ({', '.join(f'`{v}`' for v in variants) or 'none'}), "
        "each with its splits:",
        "",
        "```python",
        "from datasets import load_dataset",
        f"ds = load_dataset('{folder_name}', '{example}')  # this folder, or its Hub repo id",
        "ds['train'][0]['messages']",
        "```",
        "",
    ]


def proof_card_body(dataset: str, stats: StepStats, licenses: dict[str, int]) -> str:
    """The proof dataset's card: what it is, its funnel step (write_proof_sft_shards' summary),
    columns and licences."""
    variants = stats.counters.get("variants") or {}
    lines = [
        f"# {dataset}: Lean 4 proof SFT data",
        "",
        "Made by mathforge: forum problems autoformalized into Lean 4 statements, proved by a "
        "model with compiler feedback, and only conversations whose proof the Lean compiler "
        "verified kept (the same proof of the same statement once).",
        "",
        "## Funnel",
        "",
        "| step | in | out | dropped |",
        "|---|---|---|---|",
        f"| write_proof_sft_shards | {stats.n_in} | {stats.n_out} | "
        + (", ".join(f"{k}: {v}" for k, v in sorted(stats.dropped.items())) or "none")
        + " |",
        "",
        "Variants: `single_turn` (one assistant turn: proved at once, or wrong turns deleted) "
        f"{variants.get('single_turn', 0)} rows; `multi_turn` (self-correction from compiler "
        f"feedback) {variants.get('multi_turn', 0)} rows.",
        "",
        "Columns: `messages` (the prover conversation), `problem` (informal statement), "
        "`formal_statement`, `lean_header` (imports and opens the statement compiles under), "
        "`proof`, `statement_id`, `problem_id`, `variant`, `attempt`, `num_turns`, `num_tokens` "
        "(generated tokens), `bucket`, `source`, `license`, `source_url`, `authors`, `model`, `seed`.",
        "",
        *licence_section(licenses),
    ]
    return "\n".join(lines)
