"""Paths and params of the publish rules (rules/publish.smk), kept here so the rule file stays thin."""

from __future__ import annotations

from mathforge.funnel import summary_path
from mathforge.publish.hub import hub_repo_id

# The publish settings a dataset folder depends on (not the export formats or the tokenizer).
FOLDER_KEYS = (
    "splits", "seed", "variants", "shard_rows", "language", "task_categories", "tags", "source_datasets",
)  # fmt: skip
KINDS = ("sft", "proofs", "statements")
EXPORT_KINDS = ("sft", "proofs")  # the statements have no conversations to train on


def folder_inputs(results: str, kind: str, formal_shards: list[str] = ()) -> dict:
    """What a dataset folder is built from: the shards, their manifest and (math SFT only) the
    card; for the statements, the autoformalize shards (`formal_shards`, every source's)."""
    if kind == "statements":
        return {"formal": list(formal_shards)}
    base = f"{results}/sft" if kind == "sft" else f"{results}/sft/proofs"
    inputs = {"data": f"{base}/data", "manifest": f"{base}/manifest.json"}
    if kind == "sft":
        return {**inputs, "card": f"{base}/card.md"}
    return {**inputs, "summary": summary_path(f"{base}/data")}


def folder_params(publish: dict) -> dict:
    return {k: publish[k] for k in FOLDER_KEYS}


def hub_params(hub: dict, kind: str) -> dict:
    """The push job's settings (the token's variable name, never the token)."""
    keys = ("private", "revision", "token_env", "endpoint", "commit_message")
    return {"repo_id": hub_repo_id(hub, kind), **{k: hub[k] for k in keys}}


def publish_targets(config: dict, results: str) -> list[str]:
    """The dataset folders, every configured export, and the Hub receipts when pushing is on."""
    publish = config["publish"]
    if not publish["enabled"]:
        return []
    folders = [f"{results}/publish/{kind}" for kind in KINDS]
    exports = [f"{results}/exports/{kind}/{fmt}" for kind in EXPORT_KINDS for fmt in publish["formats"]]
    hub = publish["hub"]
    receipts = [f"{results}/publish/hub/{kind}.json" for kind in hub["kinds"]] if hub["enabled"] else []
    return folders + exports + receipts
