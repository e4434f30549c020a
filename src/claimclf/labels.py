"""The label set: defined once, here.

The five default labels follow ``LABELING.md``. A trained model stores its own
``id2label`` in its config, so a model trained on another label set works
everywhere a default model does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

ACCUSATION = "accusation"
DENIAL = "denial"
AGREEMENT = "agreement"
MILITARY_DEPLOYMENT = "military_deployment"
OTHER = "other"

#: The default label set, in the order of the model's output ids.
DEFAULT_LABELS: tuple[str, ...] = (ACCUSATION, DENIAL, AGREEMENT, MILITARY_DEPLOYMENT, OTHER)

#: The "nothing to report" label; predictions below a threshold fall back to it.
DEFAULT_NEGATIVE_LABEL = OTHER


def id2label(labels: Sequence[str]) -> dict[int, str]:
    return {i: name for i, name in enumerate(labels)}


def label2id(labels: Sequence[str]) -> dict[str, int]:
    return {name: i for i, name in enumerate(labels)}


def infer_labels(seen: Iterable[str]) -> tuple[str, ...]:
    """Label set for a corpus: the default order when the corpus uses only default
    labels, else the sorted labels seen (``other`` last when present)."""
    seen = set(seen)
    if seen <= set(DEFAULT_LABELS):
        return DEFAULT_LABELS
    rest = sorted(seen - {OTHER})
    return tuple(rest + ([OTHER] if OTHER in seen else []))


def negative_label(labels: Sequence[str]) -> str | None:
    """The label that means "none of the acts", if the label set has one."""
    return DEFAULT_NEGATIVE_LABEL if DEFAULT_NEGATIVE_LABEL in labels else None
