# Input functions of the solver evaluation (rules/eval_solver.smk); kept apart from common.smk
# so the solver evaluation's lookups stay in one place.
from mathforge.evaluation.models import model_inference


def answer_benchmark_entry(name):
    return next(b for b in config["eval"]["answer_benchmarks"] if b["name"] == name)


def answer_benchmark_files(wildcards):
    """The local file of the benchmark (none for a Hugging Face dataset)."""
    path = answer_benchmark_entry(wildcards.benchmark)["path"]
    return [path] if path else []


def solver_judges():
    """The stages whose models judge the samples: the answers judge when it is on."""
    return ["answers.judge"] if config["answers"]["judge"]["enabled"] else []


def solver_judge_model():
    """What a verdict depends on beyond `answers`: the judge's model, when the LLM judge is on."""
    return stage_model_identity(config, "answers.judge") if solver_judges() else None


def solver_params():
    """The eval.solver settings a job depends on (not the lists of efforts and modes: one job each)."""
    solver = config["eval"]["solver"]
    return {k: solver[k] for k in ("n_samples", "effort_via", "sampling", "maj_draws", "bootstrap")}


def solver_solution_params():
    """The solution machinery's settings the samples depend on (not n_tir/n_plain/efforts/sampling,
    which the evaluation sets; `model` names the solutions model an entry without one evaluates)."""
    keys = ("model", "prompts", "mode_sampling", "tir", "effort_via", "reasoning_format")
    return declare(config, *[f"solutions.{k}" for k in keys])["solutions"]


def solver_sandbox_params(mode):
    """The sandbox settings: what tool samples depend on; untracked without the tool (read, never used)."""
    if mode == "tool":
        return declare(config, "sandbox", untracked=SANDBOX_RUN_KEYS)["sandbox"]
    return Untracked(config["sandbox"])


def solver_model(wildcards):
    """The inference section of the evaluated solver (an entry without `model`: the solutions model)."""
    return model_inference(config, wildcards.model, "solutions")


def solver_resource(key):
    """One resource of evaluate_solver: the solutions family's, or the evaluated model's own, as
    floors sized by the job's input."""

    def floors(wildcards):
        return model_resources(config, "solutions", solver_model(wildcards))

    return wildcard_sized(config["resources"]["solutions"], floors, key)


def solver_judge_prompts():
    judge = config["answers"]["judge"]
    return [prompt_file(judge["prompt"])] if judge["enabled"] else []


def solver_eval_dir(benchmark, model, effort, mode):
    return f"{P.results}/eval/solver/{benchmark}/{model}/{effort}/{mode}"


def solver_eval_summaries():
    solver = config["eval"]["solver"]
    return [
        f"{solver_eval_dir(b['name'], m['name'], effort, mode)}/results.summary.json"
        for b in config["eval"]["answer_benchmarks"]
        for m in eval_models(config)
        for effort in solver["efforts"]
        for mode in solver["modes"]
    ]


def solver_eval_targets():
    return [f"{P.results}/eval/solver/summary.md"] if config["eval"]["answer_benchmarks"] else []
