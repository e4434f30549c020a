"""The shipped default model: present, small enough for git, and accurate on the seed article."""

from __future__ import annotations

import json

import pytest

from claimclf import ClaimClassifier
from claimclf.evaluate import evaluate
from claimclf.labels import DEFAULT_LABELS

from conftest import REPO

MODEL = REPO / "models" / "default"


def test_shipped_model_files_and_size():
    files = [p for p in MODEL.rglob("*") if p.is_file() and "onnx" not in p.parts]
    names = {p.name for p in files}
    assert {"config.json", "model.safetensors", "tokenizer.json", "claimclf.json", "README.md",
            "metrics.json"} <= names
    assert sum(p.stat().st_size for p in files) <= 50 * 1024 * 1024
    card = (MODEL / "README.md").read_text()
    for section in ("## Intended use", "## Metrics", "## Calibration", "## Baselines side by side",
                    "## Limitations"):
        assert section in card


def test_shipped_model_on_the_seed_article():
    clf = ClaimClassifier.load(MODEL, backend="torch")
    assert clf.labels == DEFAULT_LABELS
    m = evaluate(clf, REPO / "seeds" / "000_807158935edd99d1.gold.jsonl").metrics
    assert m["accuracy"] >= 0.85  # the target for the seed article
    assert m["false_alarm_rate"] <= 1 / 14  # at most one of its 14 plain sentences flagged


def test_reported_metrics_match_the_model():
    """The model card's numbers come from this model: re-score the seed and compare."""
    metrics = json.loads((MODEL / "metrics.json").read_text())
    seed = next(v for k, v in metrics["eval"].items() if k.startswith("000_"))
    clf = ClaimClassifier.load(MODEL, backend="torch")
    again = evaluate(clf, REPO / "seeds" / "000_807158935edd99d1.gold.jsonl").metrics
    assert again["accuracy"] == pytest.approx(seed["accuracy"], abs=0.04)
