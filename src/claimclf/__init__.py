"""claimclf: label news sentences as accusation, denial, agreement, military_deployment or other.

>>> from claimclf import ClaimClassifier
>>> clf = ClaimClassifier.load()
>>> [p.label for p in clf.predict(["Ankara denied any role in the attack."])]
['denial']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

# (segmentation and scoring live in claimclf.segment.segment and claimclf.evaluate.evaluate:
# top-level names equal to submodule names would be shadowed by the submodules)
__all__ = ["ClaimClassifier", "Prediction", "SentencePrediction", "read_examples", "DEFAULT_LABELS", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .data import read_examples
    from .labels import DEFAULT_LABELS
    from .model import ClaimClassifier, Prediction, SentencePrediction

_LAZY = {
    "ClaimClassifier": "model", "Prediction": "model", "SentencePrediction": "model",
    "read_examples": "data", "DEFAULT_LABELS": "labels",
}


def __getattr__(name: str):
    # lazy: importing claimclf (and its CLI) stays fast; torch loads on first use
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'claimclf' has no attribute {name!r}")
