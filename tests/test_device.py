"""Device choice: CPU by default, `--device auto` takes a GPU where one exists, fp16 on the GPU.

CI has no GPU: the choice logic is tested with a patched `torch.cuda.is_available`, the
half-precision forward pass is tested on the CPU, and the real CUDA run is skipped unless a
GPU is present (it runs on a GPU machine with `pytest tests/test_device.py`).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from claimclf import ClaimClassifier
from claimclf import model as model_mod
from claimclf.cli import main
from claimclf.errors import ClaimClfError

from conftest import REPO

SEED = REPO / "seeds" / "000_807158935edd99d1.gold.jsonl"
TEXTS = [json.loads(line)["text"] for line in SEED.read_text(encoding="utf-8").splitlines()]
HAS_CUDA = torch.cuda.is_available()


def test_cpu_fp32_is_the_default(tiny_model):
    clf = ClaimClassifier.load(tiny_model, backend="torch")
    assert clf.device == "cpu"
    assert next(clf.model.parameters()).dtype == torch.float32


def test_auto_and_cuda_pick_the_gpu_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert model_mod._pick_device("auto") == "cuda"
    assert model_mod._pick_device("cuda") == "cuda"
    assert model_mod._pick_device("cpu") == "cpu"


def test_without_gpu_auto_falls_back_and_cuda_is_a_clear_error(monkeypatch, tiny_model, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert ClaimClassifier.load(tiny_model, device="auto", backend="torch").device == "cpu"
    with pytest.raises(ClaimClfError, match="no CUDA GPU"):
        ClaimClassifier.load(tiny_model, device="cuda")
    code = main(["predict", str(REPO / "seeds" / "000_807158935edd99d1.txt"), "--model", str(tiny_model),
                 "--device", "cuda"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == ["claimclf: error: --device cuda: no CUDA GPU is available"]


def test_onnx_backend_refuses_the_gpu(monkeypatch, tiny_model):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(ClaimClfError, match="ONNX backend runs on the CPU"):
        ClaimClassifier.load(tiny_model, device="cuda", backend="onnx")


@pytest.mark.filterwarnings("ignore:.*truncated")
def test_half_precision_forward_keeps_the_labels(monkeypatch, tiny_model):
    """The GPU path runs the weights in fp16; the same fp16 forward pass (here on the CPU)
    must give the fp32 labels and near-identical scores."""
    full = ClaimClassifier.load(tiny_model, backend="torch")
    load = model_mod._load_torch_model
    monkeypatch.setattr(model_mod, "_load_torch_model", lambda p, d, t: load(p, d, t, half=True))
    half = ClaimClassifier.load(tiny_model, backend="torch")
    assert next(half.model.parameters()).dtype == torch.float16
    p_full, p_half = full.predict_proba(TEXTS), half.predict_proba(TEXTS)
    assert p_half.dtype == np.float32
    np.testing.assert_allclose(p_half, p_full, atol=2e-2)
    assert [p.label for p in half.predict(TEXTS)] == [p.label for p in full.predict(TEXTS)]


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_cuda_fp16_matches_cpu(tiny_model, capsys):
    cpu = ClaimClassifier.load(tiny_model, backend="torch")
    gpu = ClaimClassifier.load(tiny_model, device="auto")
    assert gpu.device == "cuda"
    assert next(gpu.model.parameters()).device.type == "cuda"
    assert next(gpu.model.parameters()).dtype == torch.float16
    np.testing.assert_allclose(gpu.predict_proba(TEXTS), cpu.predict_proba(TEXTS), atol=2e-2)
    assert [p.label for p in gpu.predict(TEXTS)] == [p.label for p in cpu.predict(TEXTS)]
    code = main(["predict", str(REPO / "seeds" / "000_807158935edd99d1.txt"), "--model", str(tiny_model),
                 "--device", "cuda", "--format", "jsonl"])
    assert code == 0
    assert len(capsys.readouterr().out.splitlines()) == len(TEXTS)
