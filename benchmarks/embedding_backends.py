"""Embedding backends side by side in one run: texts/s of fp32 torch and int8 ONNX Runtime (or
any other `decontam.embedding.backend`) on the same real texts, the speed ratio, and the
decontamination recall/precision of each on benchmarks/decontam_quality.py's test set.

The texts are that test set and its index: the shared public benchmarks (../shared/data/benchmarks)
plus the rewordings and negatives of tests/data/decontam. Each backend embeds them from scratch
(no cache) with threads = this machine's cores (or --threads), batches sorted by length.
Targets (issue 22): >= 3x the fp32 rate; recall and precision each within 0.005 of fp32.

    .venv/bin/python benchmarks/embedding_backends.py [--backends torch,onnx_int8,endpoint] [--per-kind 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from decontam_quality import DATA, SHARED, score_signals

from mathforge.config import validate_config
from mathforge.decontam.dense import Embedder, embedding_cache_path, resolve_model_path
from mathforge.decontam.evaluation import build_examples

MODEL = "all-MiniLM-L6-v2"


def vllm_pooling_config(server_dir: str) -> dict:
    """The endpoint backend on a vLLM CPU server of the packaged model (pooling runner), started
    by the pipeline's own server management, as a `models` entry."""
    server = {
        "device": "cpu", "dtype": "float32", "scope": "job", "extra_args": ["--runner", "pooling"],
        "state_dir": f"{server_dir}/state", "log_dir": f"{server_dir}/logs", "cpu_kvcache_space_gb": 1,
    }  # fmt: skip
    return validate_config(
        {
            "models": {"minilm": {"backend": "vllm", "model": resolve_model_path(MODEL), "server": server}},
            "decontam": {"embedding": {"backend": "endpoint", "endpoint_model": "minilm"}},
        }
    )


def measure(backend: str, texts: list[str], cfg: dict, threads: int, build_dir: Path) -> dict:
    """Vectors of `texts` and the rate, model loading (the int8 build, a server start) excluded.
    CPU time is this process's: for the endpoint it excludes the server's."""
    ecfg = cfg["decontam"]["embedding"]
    with tempfile.TemporaryDirectory() as server_dir:
        if backend == "endpoint":
            embedder = Embedder.from_config(vllm_pooling_config(server_dir), None)
        else:
            embedder = Embedder(
                ecfg["model"], ecfg["batch_size"], None, threads, backend, build_dir=build_dir
            )
        embedder.embed(texts[:64])  # load, and warm up: first-call allocations are not the steady rate
        wall, cpu = time.perf_counter(), time.process_time()
        vectors = embedder.embed(texts)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        embedder.close()
    return {"vectors": vectors, "rate": len(texts) / wall, "cpu_ms": 1000 * cpu / len(texts)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backends", default="torch,onnx_int8",
        help="the first is the baseline; `endpoint` = vLLM's pooling runner on CPU (starts in ~2 min)",
    )  # fmt: skip
    parser.add_argument("--per-kind", type=int, default=100, help="verbatim / wrapped / latex positives each")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    cfg = validate_config({})
    rcfg = cfg["decontam"]["retrieval"]
    examples, index = build_examples(
        SHARED, DATA / "rewordings.jsonl", DATA / "negatives.jsonl", args.per_kind
    )
    texts = [i.text for i in index] + [e.text for e in examples]
    print(f"{len(texts)} real texts ({len(index)} benchmark items, {len(examples)} test examples), "
          f"{args.threads} threads")  # fmt: skip
    build_dir = embedding_cache_path(cfg).parent / "onnx"
    rows = {}
    for backend in args.backends.split(","):
        result = measure(backend, texts, cfg, args.threads, build_dir)
        bench_vectors, vectors = result["vectors"][: len(index)], result["vectors"][len(index) :]
        rows[backend] = {**result, **score_signals(examples, index, vectors, bench_vectors, rcfg)}
    return report(rows)


def report(rows: dict[str, dict]) -> int:
    """One line per backend; the >= 3x target applies to CPU backends (the machine is shared, so
    the CPU time per text is printed too: it is steadier than the wall rate)."""
    base_name, base = next(iter(rows.items()))
    header = (f"{'backend':<10} | {'texts/s':>7} | {'ratio':>6} | {'CPU ms/text':>11} | {'CPU ratio':>9} | "
              f"{'cos to base':>11} | {'dense R':>7} | {'dense P':>7} | {'comb. R':>7} | {'comb. P':>7}")  # fmt: skip
    print(header + "\n" + "-" * len(header))
    ok = True
    for name, row in rows.items():
        cosine = float(np.mean(np.sum(row["vectors"] * base["vectors"], axis=1)))
        d, c = row["dense"], row["combined"]
        cpu_ratio = f"{base['cpu_ms'] / row['cpu_ms']:>8.2f}x" if name != "endpoint" else f"{'-':>9}"
        print(f"{name:<10} | {row['rate']:>7.1f} | {row['rate'] / base['rate']:>5.2f}x | {row['cpu_ms']:>11.1f} | "
              f"{cpu_ratio} | {cosine:>11.4f} | {d['recall']:>7.3f} | {d['precision']:>7.3f} | "
              f"{c['recall']:>7.3f} | {c['precision']:>7.3f}")  # fmt: skip
        if name == base_name:
            continue
        drift = max(
            abs(row[s][m] - base[s][m]) for s in ("dense", "combined") for m in ("recall", "precision")
        )
        ok &= drift <= 0.005
        speed = ""
        if name != "endpoint":  # the endpoint is the scale-out path (a GPU node), not a CPU speed-up
            fast = row["rate"] / base["rate"] >= 3
            ok &= fast
            speed = f"speed {'PASS' if fast else 'FAIL'} (target >= 3x), "
        print(f"  {name} vs {base_name}: {speed}quality {'PASS' if drift <= 0.005 else 'FAIL'} "
              f"(largest recall/precision change {drift:.4f}, target <= 0.005)")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
