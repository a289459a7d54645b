"""mathforge.publish.hub: a dataset folder pushed with huggingface_hub to a local HTTP server that
implements the endpoints the upload uses (create repo, create branch, preupload, NDJSON commit)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from pathlib import Path

import pytest
import yaml

from mathforge.config import validate_config
from mathforge.errors import ConfigError
from mathforge.logs import job_logging
from mathforge.publish.hub import masked_in_logs, push_folder
from mathforge.publish.targets import hub_params, publish_targets

pytest.importorskip("huggingface_hub")
web = pytest.importorskip("aiohttp.web")

TOKEN = "hf_secretTOKEN0123456789abcdef"


class FakeHub:
    """The Hub's upload endpoints, recording what it received (files decoded from the commit)."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        self.auth: set[str] = set()
        self.created: list[dict] = []
        self.validated: list[dict] = []
        self.branches: list[str] = []
        self.commits: list[dict] = []
        self.files: dict[str, dict[str, bytes]] = {}  # revision -> path -> content
        self.loop = asyncio.new_event_loop()
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/api/repos/create", self.create)
        app.router.add_post("/api/validate-yaml", self.validate_yaml)
        app.router.add_post("/api/datasets/{ns}/{name}/branch/{branch}", self.branch)
        app.router.add_post("/api/datasets/{ns}/{name}/preupload/{rev}", self.preupload)
        app.router.add_post("/api/datasets/{ns}/{name}/commit/{rev}", self.commit)
        app.router.add_route("*", "/{tail:.*}", self.unknown)
        return app

    def record(self, request) -> None:
        self.requests.append((request.method, request.path))
        self.auth.add(request.headers.get("authorization", ""))

    async def create(self, request):
        self.record(request)
        payload = await request.json()
        self.created.append(payload)
        return web.json_response({"url": f"{self.url}/datasets/{payload['organization']}/{payload['name']}"})

    async def validate_yaml(self, request):
        """The README's metadata check: its YAML front matter must parse to a mapping."""
        self.record(request)
        payload = await request.json()
        self.validated.append(payload)
        try:
            meta = yaml.safe_load(payload["content"].split("---\n")[1])
        except (IndexError, yaml.YAMLError) as err:
            return web.json_response({"errors": [{"message": str(err)}]}, status=400)
        ok = isinstance(meta, dict)
        return web.json_response(
            {} if ok else {"errors": [{"message": "not a mapping"}]}, status=200 if ok else 400
        )

    async def branch(self, request):
        self.record(request)
        self.branches.append(request.match_info["branch"])
        return web.json_response({})

    async def preupload(self, request):
        self.record(request)
        files = (await request.json())["files"]
        return web.json_response(
            {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
        )

    async def commit(self, request):
        self.record(request)
        lines = [json.loads(line) for line in (await request.read()).splitlines() if line.strip()]
        self.commits.append({"rev": request.match_info["rev"], "lines": lines})
        received = self.files.setdefault(request.match_info["rev"], {})
        for line in lines:
            if line["key"] == "file":
                assert line["value"]["encoding"] == "base64"
                received[line["value"]["path"]] = base64.b64decode(line["value"]["content"])
            elif line["key"] != "header":
                return web.json_response({"error": f"unsupported commit line {line['key']}"}, status=400)
        repo = f"{request.match_info['ns']}/{request.match_info['name']}"
        oid = f"{len(self.commits):040x}"
        return web.json_response({"commitUrl": f"{self.url}/datasets/{repo}/commit/{oid}", "commitOid": oid})

    async def unknown(self, request):
        self.record(request)
        return web.json_response({"error": f"not implemented: {request.method} {request.path}"}, status=404)

    def start(self) -> None:
        runner = web.AppRunner(self.app())
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.runner = runner
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def hub_server():
    server = FakeHub()
    server.start()
    yield server
    server.stop()


def dataset_folder(path: Path) -> Path:
    """A small dataset folder (README, manifest, a Parquet split) as dataset_folder writes one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (path / "data/statements").mkdir(parents=True)
    (path / "README.md").write_text("---\npretty_name: demo\n---\n# demo\n")
    (path / "manifest.json").write_text(json.dumps({"kind": "statements"}))
    pq.write_table(
        pa.table({"problem": ["Show 1 = 1."]}), path / "data/statements/train-00000-of-00001.parquet"
    )
    return path


def hub_settings(server: FakeHub, **overrides) -> dict:
    hub = {**validate_config({})["publish"]["hub"], "enabled": True, "repo_id": "me/demo-{kind}",
           "endpoint": server.url, **overrides}  # fmt: skip
    return hub_params(hub, "statements")


def test_push_uploads_every_file_of_the_folder_and_writes_a_receipt(tmp_path, hub_server, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    folder = dataset_folder(tmp_path / "statements")
    log_path = tmp_path / "push.log"
    with job_logging(str(log_path)):
        receipt = push_folder(str(folder), hub_settings(hub_server), str(tmp_path / "receipt.json"))
    expected = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert hub_server.files["main"] == expected  # byte for byte, every file
    assert hub_server.created == [{"name": "demo-statements", "organization": "me", "visibility": "private",
                                   "type": "dataset"}]  # fmt: skip
    assert hub_server.auth == {f"Bearer {TOKEN}"} and hub_server.branches == []
    assert [v["repoType"] for v in hub_server.validated] == ["dataset"]  # the card's metadata was checked
    assert receipt["repo_id"] == "me/demo-statements" and receipt["revision"] == "main"
    assert receipt["files"] == sorted(expected) and receipt["commit_url"].endswith(receipt["commit"])
    assert json.loads((tmp_path / "receipt.json").read_text()) == receipt
    assert hub_server.commits[0]["lines"][0]["value"]["summary"] == "Upload dataset folder (mathforge)"
    log_text = log_path.read_text()
    assert "pushed 3 files" in log_text and "/api/datasets/me/demo-statements/commit/main" in log_text
    for path in [log_path, tmp_path / "receipt.json"]:
        assert TOKEN not in path.read_text()


def test_push_to_a_branch_creates_it_and_commits_there(tmp_path, hub_server, monkeypatch):
    monkeypatch.setenv("MY_HUB_TOKEN", TOKEN)
    folder = dataset_folder(tmp_path / "statements")
    hub = hub_settings(hub_server, revision="v1", private=False, token_env="MY_HUB_TOKEN")
    receipt = push_folder(str(folder), hub, str(tmp_path / "receipt.json"))
    assert hub_server.branches == ["v1"] and set(hub_server.files) == {"v1"}
    assert hub_server.created[0]["visibility"] == "public" and receipt["revision"] == "v1"


def test_push_without_the_token_in_the_environment_fails_before_any_request(
    tmp_path, hub_server, monkeypatch
):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"publish\.hub\.token_env.*HF_TOKEN"):
        push_folder(str(dataset_folder(tmp_path / "f")), hub_settings(hub_server), str(tmp_path / "r.json"))
    assert hub_server.requests == []


@pytest.mark.parametrize(
    ("hub", "match"),
    [
        ({"enabled": True}, r"publish\.hub\.repo_id"),
        ({"enabled": True, "repo_id": "  "}, r"publish\.hub\.repo_id"),
        (
            {"enabled": True, "repo_id": "me/demo", "kinds": ["sft", "proofs"]},
            r"publish\.hub\.repo_id.*\{kind\}",
        ),
        (
            {"enabled": True, "repo_id": "me/demo", "token_env": "NO_SUCH_TOKEN_VAR"},
            r"token_env.*NO_SUCH_TOKEN_VAR",
        ),
    ],
)
def test_bad_hub_settings_fail_when_the_config_is_loaded(hub, match, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.delenv("NO_SUCH_TOKEN_VAR", raising=False)
    with pytest.raises(ConfigError, match=match):
        validate_config({"publish": {"hub": hub}})


def test_hub_is_checked_only_when_enabled_and_adds_one_receipt_per_kind(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    validate_config({"publish": {"hub": {"repo_id": None}}})  # off: no token needed
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    cfg = validate_config({"publish": {"hub": {"enabled": True, "repo_id": "me/d-{kind}",
                                               "kinds": ["sft", "statements"]}}})  # fmt: skip
    receipts = [t for t in publish_targets(cfg, "R") if "/hub/" in t]
    assert receipts == ["R/publish/hub/sft.json", "R/publish/hub/statements.json"]
    params = hub_params(cfg["publish"]["hub"], "sft")
    assert params["repo_id"] == "me/d-sft" and params["token_env"] == "HF_TOKEN"
    assert TOKEN not in json.dumps(params)  # rule params are recorded by Snakemake: never the token


def test_the_token_is_masked_in_log_records_while_pushing(tmp_path):
    log_path = tmp_path / "job.log"
    with job_logging(str(log_path)):
        with masked_in_logs(TOKEN):
            logging.getLogger("huggingface_hub.test").warning("headers: Bearer %s", TOKEN)
        logging.getLogger("mathforge.test").info("after: %s", "plain")
    text = log_path.read_text()
    assert "headers: Bearer ***" in text and TOKEN not in text and "after: plain" in text
