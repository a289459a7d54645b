"""Lean checks fanned out over Slurm with submitit (`lean.fanout`): a batch of proofs is split
into array tasks; each task builds the configured backend on its node and checks its share.
Verdicts come back in order, as dictionaries (the same form the verdict cache stores)."""

from __future__ import annotations

from pathlib import Path

from mathforge.lean.backends import lean_backend
from mathforge.lean.verify import check_proof


def check_chunk(lean_cfg: dict, items: list[tuple[str, str, str]]) -> list[dict]:
    """Runs inside a Slurm task: check every (header, statement, proof) with the configured Lean."""
    backend = lean_backend({"lean": lean_cfg})
    try:
        out = []
        for header, statement, proof in items:
            verdict = check_proof(backend, header, statement, proof, tuple(lean_cfg["allowed_axioms"]))
            out.append({**verdict.to_dict(), "source": verdict.source})
        return out
    finally:
        if hasattr(backend, "close"):
            backend.close()


def check_on_slurm(lean_cfg: dict, items: list[tuple[str, str, str]]) -> list[dict]:
    import submitit

    fanout = lean_cfg["fanout"]
    executor = submitit.AutoExecutor(folder=str(Path(fanout["dir"]) / "%j"), cluster="slurm")
    extra = {"account": fanout["account"]} if fanout["account"] else {}
    executor.update_parameters(
        name="mathforge-lean", timeout_min=fanout["timeout_min"], slurm_partition=fanout["partition"],
        cpus_per_task=fanout["cpus_per_job"], mem_gb=fanout["mem_gb"], slurm_additional_parameters=extra,
    )  # fmt: skip
    n = min(fanout["jobs"], len(items))
    chunks = [items[i::n] for i in range(n)]  # round robin: slow and fast proofs spread evenly
    jobs = executor.map_array(check_chunk, [lean_cfg] * n, chunks)
    results = [job.result() for job in jobs]
    out: list[dict | None] = [None] * len(items)
    for i, chunk in enumerate(results):
        for j, verdict in enumerate(chunk):
            out[i + j * n] = verdict
    return out  # type: ignore[return-value]
