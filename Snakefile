# mathforge: raw math forum data -> training data for math reasoning and Lean 4 proving.
# Config, validation, includes and `rule all`; every rule lives in rules/, all logic in workflow/mathforge.
import sys

from snakemake.utils import min_version

min_version("9.0")

sys.path.insert(0, f"{workflow.basedir}/workflow")
from mathforge.config import validate_config  # noqa: E402
from mathforge.inference.models import check_used_models  # noqa: E402
from mathforge.workflow import Paths, prepare_environment, stop_servers  # noqa: E402


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


validate_config(config, basedir=workflow.basedir)
check_used_models(config)
prepare_environment()
P = Paths(config)


include: "rules/common.smk"
include: "rules/common_eval_solver.smk"
include: "rules/problems.smk"
include: "rules/decontam.smk"
include: "rules/solutions.smk"
include: "rules/answers.smk"
include: "rules/sft.smk"
include: "rules/formal.smk"
include: "rules/proofs.smk"
include: "rules/eval.smk"
include: "rules/eval_solver.smk"
include: "rules/report.smk"
include: "rules/publish.smk"


rule all:
    default_target: True
    input:
        problem_targets(),
        decontam_targets(),
        solution_targets(),
        sft_targets(),
        formal_targets(),
        eval_targets(),
        solver_eval_targets(),
        publish_targets(config, P.results),
        f"{P.results}/report/funnel.md",


onsuccess:
    stop_servers(config)


onerror:
    stop_servers(config)
