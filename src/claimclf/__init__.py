"""claimclf: label news sentences as accusation, denial, agreement, military_deployment or other.

>>> from claimclf import ClaimClassifier
>>> clf = ClaimClassifier.load()
>>> [p.label for p in clf.predict(["Ankara denied any role in the attack."])]
['denial']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["ClaimClassifier", "Prediction", "SentencePrediction", "segment", "read_examples", "evaluate",
           "DEFAULT_LABELS", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .data import read_examples
    from .evaluate import evaluate
    from .labels import DEFAULT_LABELS
    from .model import ClaimClassifier, Prediction, SentencePrediction
    from .segment import segment

_LAZY = {
    "ClaimClassifier": "model", "Prediction": "model", "SentencePrediction": "model",
    "segment": "segment", "read_examples": "data", "evaluate": "evaluate", "DEFAULT_LABELS": "labels",
}


def __getattr__(name: str):
    # lazy: importing claimclf (and its CLI) stays fast; torch loads on first use
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'claimclf' has no attribute {name!r}")
