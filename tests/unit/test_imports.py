"""The package's layering, checked over its import graph (every `import`, at module level or
inside a function, read with `ast`; nothing is imported).

Stage packages (`STAGES`) are what the rules run: each has `stage.py` with a `run(...)`, the
entry of its main rule (a package with more rules keeps their entries in its other modules).
Stages are siblings: no stage imports another. What two stages share lives below them, in
the shared modules, which import no stage:

- the top-level modules (`io`, `ids`, `funnel`, `prompts`, `benchmarks`: the benchmark items that
  decontamination, the hygiene audit and the solver evaluation read, `normalized_text`: the text
  normalization that decontamination and hygiene match on, ...);
- `schemas`: the records stages hand each other (problems, solutions, judged rows, chat messages);
- `grading`: answer normalization, equivalence, the LLM judge and the vote, used by judging, the
  forum rewrites, autoformalization (its judge verdicts) and the solver evaluation;
- `solving`: generating one solution (prompts, tool calls, transcripts), used by the solutions
  stage and the solver evaluation, and read by the hygiene checks and the SFT messages;
- `evaluation`: the estimators (pass@k, maj@k, bootstrap) and the evaluated models, used by the
  solver evaluation and the prover evaluation;
- `hygiene`, `inference`, `lean`, `sandbox`: libraries several stages call.

The one upward edge is declared: the config is validated whole when it is loaded, and the
publish section's checks (`publish.checks`) are part of that.

The module graph has no cycle, function-level imports included: a lazy import hides a cycle
from Python's import machinery but not from the reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "workflow" / "mathforge"
STAGES = frozenset(
    {
        "forum",
        "problems",
        "decontam",
        "solutions",
        "judging",
        "forum_cot",
        "formal",
        "proofs",
        "sft",
        "publish",
        "solver_eval",
    }
)
ALLOWED_UPWARD = frozenset({("mathforge.config", "mathforge.publish.checks")})


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.AST, importer: str, is_package: bool, known: set[str]) -> set[str]:
    """The known modules `tree` imports anywhere; `from a import b` names module `a.b` when it is one."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = importer.split(".")[: len(importer.split(".")) - node.level + is_package]
                base_name = ".".join(base + ([node.module] if node.module else []))
            else:
                base_name = node.module or ""
            found.add(base_name)
            found.update(f"{base_name}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known}


def import_graph(root: Path) -> dict[str, set[str]]:
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    known = set(paths)
    graph = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[name] = imported_modules(tree, name, path.name == "__init__.py", known) - {name}
    return graph


def stage_of(module: str, stages: frozenset[str]) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] in stages else None


def layering_violations(graph: dict[str, set[str]], stages: frozenset[str], allowed=frozenset()) -> list[str]:
    problems = []
    for importer, targets in sorted(graph.items()):
        for target in sorted(targets):
            own, other = stage_of(importer, stages), stage_of(target, stages)
            if other is None or own == other or (importer, target) in allowed:
                continue
            kind = "sideways stage import" if own else "shared module imports a stage"
            problems.append(f"{kind}: {importer} -> {target}")
    return problems


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(PACKAGE_ROOT)


def test_declared_stages_exist_and_everything_else_is_shared(graph):
    packages = {name.split(".")[1] for name in graph if name.count(".") >= 2}
    assert packages >= STAGES, f"declared stages that do not exist: {sorted(STAGES - packages)}"


def test_no_stage_imports_another_and_shared_modules_import_no_stage(graph):
    assert layering_violations(graph, STAGES, ALLOWED_UPWARD) == []


def test_the_module_graph_has_no_cycle(graph):
    assert import_cycles(graph) == []


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_stage_package_has_stage_py_with_run(stage):
    path = PACKAGE_ROOT / stage / "stage.py"
    assert path.is_file(), f"{stage}: no stage.py"
    tree = ast.parse(path.read_text())
    assert any(isinstance(n, ast.FunctionDef) and n.name == "run" for n in tree.body), (
        f"{stage}/stage.py: no run()"
    )


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_checks_find_a_sideways_import_a_shared_one_and_a_lazy_cycle(tmp_path):
    root = tmp_path / "mathforge"
    _write(root, "__init__.py", "")
    _write(root, "io.py", "from mathforge.alpha.stage import run\n")
    _write(root, "alpha/__init__.py", "")
    _write(root, "alpha/stage.py", "from mathforge.beta import stage\n\ndef run():\n    pass\n")
    _write(root, "beta/__init__.py", "")
    _write(root, "beta/stage.py", "def run():\n    from . import helper\n")
    _write(root, "beta/helper.py", "import mathforge.beta.stage\nimport mathforge.io\n")
    graph = import_graph(root)
    assert graph["mathforge.alpha.stage"] == {"mathforge.beta", "mathforge.beta.stage"}
    assert layering_violations(graph, frozenset({"alpha", "beta"})) == [
        "sideways stage import: mathforge.alpha.stage -> mathforge.beta",
        "sideways stage import: mathforge.alpha.stage -> mathforge.beta.stage",
        "shared module imports a stage: mathforge.io -> mathforge.alpha.stage",
    ]
    assert import_cycles(graph) == [
        ["mathforge.alpha.stage", "mathforge.beta.helper", "mathforge.beta.stage", "mathforge.io"]
    ]
