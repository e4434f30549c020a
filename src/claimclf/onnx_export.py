"""ONNX export (``claimclf export-onnx``, and the end of ``claimclf train``): the fast CPU path.

Two files go into ``MODEL/onnx/``:

- ``model.onnx``: the fp32 graph **without its weights**. Its initializers are the model's
  parameters, read at load time from ``MODEL/model.safetensors`` (and the actor head's from
  ``MODEL/actors.safetensors``; ``model.weights.json`` maps each initializer to its tensor),
  so the folder holds one copy of the weights and the graph adds about 0.2 MB. With an actor
  head the graph has a second output, ``actor_logits``, from the same encoder pass.
- ``model_quantized.onnx``: an int8 copy, **statically** quantized (QDQ, per-channel
  weights, activation scales calibrated once on dev sentences). Dynamic quantization computes
  activation scales over the whole padded batch, so a sentence's scores moved with what else
  was in its batch (by up to 0.6 on the v8 model); with fixed scales a sentence gets the same
  scores whatever the batch. It is kept only when the default path (int8, sentences whose int8
  top score is below 0.9 re-scored in fp32) stays within ``max_drop`` macro-F1 of fp32 on the
  check sentences.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ClaimClfError
from .model import ONNX_DIR, WEIGHTS_MAP, ClaimClassifier, default_model_path

log = logging.getLogger(__name__)


@dataclass
class ExportResult:
    fp32: Path
    int8: Path | None = None
    checks: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        lines = [f"wrote {self.fp32} (weights read from model.safetensors)"]
        if self.int8:
            lines.append(f"wrote {self.int8}")
        lines += [f"{k}: {v:.4f}" for k, v in self.checks.items()]
        return lines + self.notes

    def as_dict(self) -> dict[str, Any]:
        return {"fp32": self.fp32.name, "int8": self.int8.name if self.int8 else None, "checks": self.checks,
                "notes": self.notes}


def _logits_module(model, head=None):
    """The classifier with plain tensor inputs and a ``logits`` output (and, with an actor head,
    ``actor_logits`` from the same encoder pass), for ``torch.onnx.export``."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).logits

    class LogitsAndActors(torch.nn.Module):
        def __init__(self, m, h):
            super().__init__()
            self.m, self.h = m, h

        def forward(self, input_ids, attention_mask):
            out = self.m(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            return out.logits, self.h(self.h.features(out.hidden_states))

    return (Logits(model) if head is None else LogitsAndActors(model, head)).eval()


def _export(clf: ClaimClassifier, path: Path, *, fold: bool, opset: int) -> None:
    import torch

    dummy = clf.tokenizer(["a short sentence", "a somewhat longer example sentence here"], padding=True,
                          return_tensors="pt")
    outputs = ["logits"] + (["actor_logits"] if clf.actor_head is not None else [])
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "logits": {0: "batch"},
            "actor_logits": {0: "batch", 1: "seq"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _logits_module(clf.model, clf.actor_head), (dummy["input_ids"], dummy["attention_mask"]), str(path),
            input_names=["input_ids", "attention_mask"], output_names=outputs,
            dynamic_axes={k: v for k, v in axes.items() if k in outputs + ["input_ids", "attention_mask"]},
            opset_version=opset, dynamo=False, do_constant_folding=fold,
        )


def _weightless_graph(clf: ClaimClassifier, model_dir: Path, out_dir: Path, opset: int) -> Path:
    """``onnx/model.onnx`` whose initializers point into ``model.safetensors`` (no weight copy)."""
    import onnx
    from onnx.external_data_helper import set_external_data
    from safetensors import safe_open

    weights = model_dir / "model.safetensors"
    with safe_open(str(weights), framework="numpy") as fh:
        keys = set(fh.keys())
    head_keys: set[str] = set()
    head_file = model_dir / clf.actor_config.file if clf.actor_head is not None else None
    if head_file is not None:
        with safe_open(str(head_file), framework="numpy") as fh:
            head_keys = set(fh.keys())
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        raw = Path(tmp) / "graph.onnx"
        _export(clf, raw, fold=False, opset=opset)  # unfolded: initializers are the parameters as named
        graph = onnx.load(str(raw))
    mapping, head_mapping = {}, {}
    for init in graph.graph.initializer:
        if init.name.startswith("h.") and init.name[2:] in head_keys:  # the actor head's weights
            head_mapping[init.name] = init.name[2:]
            location = head_file.name
        else:
            key = init.name[2:] if init.name.startswith("m.") else init.name
            if key not in keys:
                continue
            mapping[init.name] = key
            location = "model.safetensors"
        set_external_data(init, location=location)  # never read: the weights come from us
        init.ClearField("raw_data")
        init.data_location = onnx.TensorProto.EXTERNAL
    if not mapping:
        raise ClaimClfError(f"{model_dir}: no graph initializer matches a tensor of model.safetensors")
    fp32 = out_dir / "model.onnx"
    tmp_file = fp32.with_name("model.onnx.tmp")
    onnx.save(graph, str(tmp_file))
    spec: dict[str, Any] = {"weights": "../model.safetensors", "initializers": mapping}
    if head_mapping:
        spec["more"] = [{"weights": f"../{head_file.name}", "initializers": head_mapping}]
    (out_dir / WEIGHTS_MAP).write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp_file, fp32)
    return fp32


def _calibration_batches(clf: ClaimClassifier, texts: Sequence[str], batch_size: int = 32) -> list[dict[str, Any]]:
    """Length-sorted, padded batches of calibration sentences (padded as inference pads them)."""
    encoded = sorted(clf._encode(list(texts)), key=len)
    batches = []
    for start in range(0, len(encoded), batch_size):
        ids, mask = clf._pad(encoded[start : start + batch_size])
        batches.append({"input_ids": ids, "attention_mask": mask})
    return batches


def _quantize_static(clf: ClaimClassifier, out_dir: Path, texts: Sequence[str], opset: int) -> Path:
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    int8 = out_dir / "model_quantized.onnx"
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # onnxruntime logs advice on the root logger
    try:
        with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
            full, pre, q = Path(tmp) / "full.onnx", Path(tmp) / "pre.onnx", Path(tmp) / "q.onnx"
            _export(clf, full, fold=True, opset=opset)
            quant_pre_process(str(full), str(pre), skip_symbolic_shape=True)
            batches = iter(_calibration_batches(clf, texts))

            class Reader(CalibrationDataReader):
                def get_next(self):
                    return next(batches, None)

            reader = Reader()
            quantize_static(str(pre), str(q), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=["MatMul", "Gather"],  # Gather: the 47 MB word embeddings
                            calibrate_method=CalibrationMethod.MinMax,
                            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
            os.replace(q, int8)
    finally:
        root.setLevel(level)  # a library call must not leave the caller's logging changed
    return int8


def export_onnx(model_dir: str | Path | None = None, *, quantize: bool = True, check_file: str | Path | None = None,
                calibration: Sequence[str] | None = None, check_examples: Sequence[Any] | None = None,
                max_drop: float = 0.005, opset: int = 17) -> ExportResult:
    """Write ``MODEL/onnx/`` (see the module doc). ``calibration``: sentences to calibrate the int8
    activation scales on (default: the texts of ``check_file``); ``check_examples`` or
    ``check_file``: gold sentences on which the int8 default path must stay within ``max_drop``
    macro-F1 of fp32, else the int8 copy is removed."""
    from .data import read_examples
    from .evaluate import score

    model_dir = Path(model_dir) if model_dir else default_model_path()
    clf = ClaimClassifier.load(model_dir, backend="torch")
    if not (model_dir / "model.safetensors").exists():
        raise ClaimClfError(f"{model_dir}: export needs a single model.safetensors")
    out_dir = model_dir / ONNX_DIR
    out_dir.mkdir(exist_ok=True)
    for stale in ("model_quantized.onnx", "model.onnx", WEIGHTS_MAP):
        if (out_dir / stale).exists():
            (out_dir / stale).unlink()
    result = ExportResult(_weightless_graph(clf, model_dir, out_dir, opset))
    if check_examples is None and check_file is not None:
        check_examples = read_examples(check_file, clf.labels)
    if calibration is None and check_examples is not None:
        calibration = [e.text for e in check_examples]
    if not quantize:
        return result
    if not calibration:
        result.notes.append("no int8 copy: static quantization needs calibration sentences (--check GOLD)")
        return result
    result.int8 = _quantize_static(clf, out_dir, calibration, opset)
    if not check_examples:
        result.notes.append("int8 kept without an accuracy check (pass --check GOLD to compare macro-F1)")
        return result
    texts, gold = [e.text for e in check_examples], [e.label for e in check_examples]
    fp32_clf = ClaimClassifier.load(model_dir, backend="onnx", onnx_file=result.fp32)
    default = ClaimClassifier.load(model_dir, backend="onnx")
    f1 = {}
    for name, c in (("fp32", fp32_clf), ("int8 default path", default)):
        pred = [p.label for p in c.decide(c.predict_proba(texts), 0.0)]
        f1[name] = score(gold, pred, list(c.labels))["macro_f1"]
    result.checks = {"macro_f1_fp32": f1["fp32"], "macro_f1_int8_default_path": f1["int8 default path"]}
    if f1["fp32"] - f1["int8 default path"] > max_drop:
        result.int8.unlink()
        result.int8 = None
        result.notes.append(f"int8 removed: macro-F1 dropped by {f1['fp32'] - f1['int8 default path']:.4f} "
                            f"> {max_drop}")
    return result
