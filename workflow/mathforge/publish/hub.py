"""publish_to_hub: upload a dataset folder to a Hugging Face Hub dataset repo.

The token is read from the environment variable `publish.hub.token_env` at upload time only: it is
never a rule param (params are recorded in Snakemake's metadata), never logged (a logging filter
masks it in every record while the upload runs) and never written to the receipt.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mathforge.errors import ConfigError
from mathforge.io import write_json

log = logging.getLogger(__name__)

REPO_TYPE = "dataset"
DEFAULT_BRANCH = "main"


def hub_repo_id(hub: dict, kind: str) -> str:
    """`publish.hub.repo_id` with `{kind}` replaced by the folder's kind (sft, proofs, statements)."""
    return hub["repo_id"].replace("{kind}", kind)


def hub_token(token_env: str) -> str:
    token = os.environ.get(token_env, "").strip()
    if not token:
        raise ConfigError(
            f"publish.hub.token_env: the environment variable {token_env} is not set "
            "(the Hub token is read from the environment only)"
        )
    return token


def check_hub_config(publish: dict) -> None:
    """With `publish.hub.enabled`: a repo id (with `{kind}` when several kinds go up) and a token."""
    hub = publish["hub"]
    if not hub["enabled"]:
        return
    if not (hub["repo_id"] or "").strip():
        raise ConfigError("publish.hub.repo_id: a Hub dataset repo id (owner/name) is required when enabled")
    if len(hub["kinds"]) > 1 and "{kind}" not in hub["repo_id"]:
        raise ConfigError(
            f"publish.hub.repo_id: {hub['repo_id']!r} must contain `{{kind}}` when several kinds "
            f"({hub['kinds']}) are pushed, or they would overwrite each other's README.md"
        )
    hub_token(hub["token_env"])


class _MaskSecret(logging.Filter):
    """Replaces the secret in a record's message (and its arguments) by `***`."""

    def __init__(self, secret: str):
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "***"), None
        return True


@contextmanager
def masked_in_logs(secret: str) -> Iterator[None]:
    handlers = [h for h in logging.getLogger().handlers]
    mask = _MaskSecret(secret)
    for handler in handlers:
        handler.addFilter(mask)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(mask)


def folder_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def push_folder(folder: str, hub: dict, receipt_path: str) -> dict:
    """Create the repo (if missing) and the branch `revision` (if not the default), upload the
    folder as one commit, and write the receipt (repo, revision, commit, files); returns it.
    `hub` holds repo_id (already for this kind), private, revision, token_env, endpoint."""
    from huggingface_hub import HfApi
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()  # bars are noise in a job log
    token = hub_token(hub["token_env"])
    files = folder_files(Path(folder))
    with masked_in_logs(token):
        api = HfApi(endpoint=hub["endpoint"], token=token)
        repo_url = api.create_repo(hub["repo_id"], repo_type=REPO_TYPE, private=hub["private"], exist_ok=True)
        if hub["revision"] != DEFAULT_BRANCH:
            api.create_branch(hub["repo_id"], repo_type=REPO_TYPE, branch=hub["revision"], exist_ok=True)
        commit = api.upload_folder(
            repo_id=hub["repo_id"],
            repo_type=REPO_TYPE,
            folder_path=folder,
            revision=hub["revision"],
            commit_message=hub["commit_message"],
        )
    receipt = {
        "repo_id": hub["repo_id"],
        "repo_type": REPO_TYPE,
        "repo_url": str(repo_url),
        "private": hub["private"],
        "revision": hub["revision"],
        "commit_url": commit.commit_url,
        "commit": commit.oid,
        "files": files,
    }
    write_json(receipt, receipt_path)
    log.info("pushed %d files of %s to %s@%s: %s", len(files), folder, hub["repo_id"], hub["revision"],
             commit.commit_url)  # fmt: skip
    return receipt
