"""Paths and params of the publish rules (rules/publish.smk), kept here so the rule file stays thin."""

from __future__ import annotations

# The publish settings a dataset folder depends on (not the export formats or the tokenizer).
FOLDER_KEYS = (
    "splits", "seed", "variants", "shard_rows", "language", "task_categories", "tags", "source_datasets",
)  # fmt: skip
KINDS = ("sft", "proofs")


def folder_inputs(results: str, kind: str) -> dict[str, str]:
    """The shards, their manifest and (math SFT only) the card a dataset folder is built from."""
    base = f"{results}/sft" if kind == "sft" else f"{results}/sft/proofs"
    inputs = {"data": f"{base}/data", "manifest": f"{base}/manifest.json"}
    return {**inputs, "card": f"{base}/card.md"} if kind == "sft" else inputs


def folder_params(publish: dict) -> dict:
    return {k: publish[k] for k in FOLDER_KEYS}


def publish_targets(config: dict, results: str) -> list[str]:
    """The dataset folders and every configured export of both, when publishing is on."""
    publish = config["publish"]
    if not publish["enabled"]:
        return []
    folders = [f"{results}/publish/{kind}" for kind in KINDS]
    return folders + [f"{results}/exports/{kind}/{fmt}" for kind in KINDS for fmt in publish["formats"]]
