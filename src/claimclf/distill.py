"""Knowledge distillation: a teacher model's scores as soft targets for the student.

The teacher is any trained claimclf model folder with the same labels, for example
all-mpnet-base-v2 fine-tuned by ``claimclf train`` (``base_model: all-mpnet-base-v2``, best on a
GPU). The student learns, per training sentence,

    (1 - weight) * CE(gold, student) + weight * T^2 * KL(softmax(teacher / T) || softmax(student / T))

(Hinton et al., 2015). Sentences without gold labels (``teacher.unlabeled``: articles in any
format ``predict`` reads, split by the project's segmenter) are learned from the teacher alone.
The teacher scores each distinct text once, before training; the scores are part of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .data import Example
from .errors import ClaimClfError

#: the gold label index of a sentence that has none (learned from the teacher alone)
NO_LABEL = -100


def load_teacher(path: str, labels: Sequence[str]):
    """The teacher as a :class:`claimclf.ClaimClassifier` (torch backend: it may be on a GPU);
    its labels must be the student's, in the same order."""
    from .model import ClaimClassifier

    teacher = ClaimClassifier.load(path, backend="torch", device="auto")
    if list(teacher.labels) != list(labels):
        raise ClaimClfError(f"teacher {path}: labels {list(teacher.labels)} differ from the training data's "
                            f"{list(labels)} (same labels, same order)")
    return teacher


def unlabeled_sentences(inputs: Sequence[str], known: set[str] | None = None) -> list[str]:
    """The sentences of unlabeled articles (files or folders, as ``predict`` reads them), each
    distinct text once, in input order; texts in ``known`` (the labeled ones) are left out."""
    from .data import expand_inputs, iter_articles
    from .segment import segment

    seen = set(known or ())
    out = []
    for article in iter_articles(expand_inputs(list(inputs))):
        for sentence in segment(article.text):
            if sentence.text not in seen:
                seen.add(sentence.text)
                out.append(sentence.text)
    return out


def read_scores(path: str, labels: Sequence[str]) -> dict[str, np.ndarray]:
    """A teacher's scores computed elsewhere, by text: JSON Lines with ``text`` and either ``scores``
    (``{label: probability}`` for every label, as ``claimclf predict`` writes them; kept as log
    probabilities, which are logits up to a constant) or ``logits`` (a list in ``labels`` order)."""
    from .data import iter_jsonl
    from .errors import InputError

    out: dict[str, np.ndarray] = {}
    for lineno, obj in iter_jsonl(path):
        text = obj.get("text")
        if not isinstance(text, str):
            raise InputError(path, "no 'text' string", lineno)
        if "logits" in obj:
            row = obj["logits"]
            if not isinstance(row, list) or len(row) != len(labels):
                raise InputError(path, f"'logits' must be a list of {len(labels)} numbers ({', '.join(labels)})", lineno)
        elif isinstance(obj.get("scores"), dict):
            missing = [name for name in labels if name not in obj["scores"]]
            if missing:
                raise InputError(path, f"'scores' has no {', '.join(missing)}", lineno)
            row = [obj["scores"][name] for name in labels]
        else:
            raise InputError(path, "needs 'scores' ({label: probability}) or 'logits'", lineno)
        try:
            values = np.asarray(row, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(path, "scores must be numbers", lineno) from None
        if not np.isfinite(values).all() or ("logits" not in obj and ((values < 0).any() or values.sum() <= 0)):
            raise InputError(path, "scores must be finite (probabilities: non-negative, not all 0)", lineno)
        if "logits" not in obj:
            values = np.log(np.clip(values / values.sum(), 1e-12, None))
        out[text] = values.astype(np.float32)
    return out


def teacher_logits(teacher, texts: Sequence[str], *, batch_size: int = 32,
                   progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """The teacher's raw logits for each distinct text (its own temperature is not applied:
    distillation softens with its own ``T``)."""
    distinct = list(dict.fromkeys(texts))
    logits = teacher.predict_logits(distinct, batch_size=batch_size, progress=progress)
    return dict(zip(distinct, logits.astype(np.float32)))


def distillation_rows(train: Sequence[Example], unlabeled: Sequence[str], labels: Sequence[str],
                      logits: dict[str, np.ndarray]) -> dict[str, list[Any]]:
    """Columns for a ``datasets.Dataset``: ``text``, ``label`` (``NO_LABEL`` for unlabeled
    sentences) and ``teacher`` (the teacher's logits for the text)."""
    index = {name: i for i, name in enumerate(labels)}
    texts = [e.text for e in train] + list(unlabeled)
    return {"text": texts,
            "label": [index[e.label] for e in train] + [NO_LABEL] * len(unlabeled),
            "teacher": [logits[t].tolist() for t in texts]}


def distillation_loss(student, gold, teacher, *, weight: float, temperature: float,
                      class_weights=None, label_smoothing: float = 0.0):
    """Mean over the batch of ``(1 - weight) * CE + weight * T^2 * KL`` for labeled sentences and
    ``T^2 * KL`` for unlabeled ones (``gold == NO_LABEL``). Tensors: ``student`` and ``teacher``
    logits ``(batch, labels)``, ``gold`` ``(batch,)``."""
    import torch
    import torch.nn.functional as F

    t = float(temperature)
    kl = F.kl_div(F.log_softmax(student / t, dim=-1), F.log_softmax(teacher.to(student.dtype) / t, dim=-1),
                  reduction="none", log_target=True).sum(-1) * (t * t)
    labeled = gold != NO_LABEL
    ce = torch.zeros_like(kl)
    if labeled.any():
        ce[labeled] = F.cross_entropy(student[labeled], gold[labeled], weight=class_weights,
                                      label_smoothing=label_smoothing, reduction="none")
    per_row = torch.where(labeled, (1.0 - weight) * ce + weight * kl, kl)
    return per_row.mean()


def prepare(teacher_cfg, labels: Sequence[str], train: Sequence[Example], *, dev=None, batch_size: int = 32,
            progress: bool = True) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """Score the training sentences and the unlabeled articles' sentences with the teacher.
    Returns the training columns (:func:`distillation_rows`) and a report for ``metrics.json``
    (with the teacher's own dev scores where ``dev``, a callable ``teacher -> metrics``, is given).
    Restarts (``train --seeds``) reuse the scores of the first run: the teacher scores once."""
    key = _cache_key(teacher_cfg, labels, train)
    if key in _SCORED:
        columns, report = _SCORED[key]
        return columns, dict(report, weight=teacher_cfg.weight, temperature=teacher_cfg.temperature)
    unlabeled = unlabeled_sentences(teacher_cfg.unlabeled, known={e.text for e in train})
    texts = list(dict.fromkeys([e.text for e in train] + unlabeled))
    if teacher_cfg.scores is not None:
        logits = _scores_for(teacher_cfg.scores, labels, texts)
        report: dict[str, Any] = {"scores": teacher_cfg.scores}
    else:
        teacher = load_teacher(teacher_cfg.model, labels)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="teacher", unit="sent")
        try:
            logits = teacher_logits(teacher, texts, batch_size=batch_size, progress=bar.update if bar else None)
        finally:
            if bar is not None:
                bar.close()
        report = {"model": teacher_cfg.model, "base_model": teacher.meta.get("base_model")}
    report.update(weight=teacher_cfg.weight, temperature=teacher_cfg.temperature,
                  unlabeled=list(teacher_cfg.unlabeled), unlabeled_sentences=len(unlabeled), scored_texts=len(texts))
    if teacher_cfg.scores is None and dev is not None:
        scores = dev(teacher)
        report["dev"] = {k: scores.get(k) for k in ("macro_f1", "accuracy", "false_alarm_rate")}
    columns = distillation_rows(train, unlabeled, labels, logits)
    _SCORED.clear()  # one run's scores at a time
    _SCORED[key] = (columns, report)
    return columns, report


def _scores_for(path: str, labels: Sequence[str], texts: Sequence[str]) -> dict[str, np.ndarray]:
    """The scores file's logits; every one of ``texts`` must be in it."""
    from .errors import InputError

    logits = read_scores(path, labels)
    missing = [t for t in texts if t not in logits]
    if missing:
        raise InputError(path, f"no scores for {len(missing)} of the {len(texts)} training and unlabeled "
                               f"sentences (the first: {missing[0][:80]!r})")
    return logits


#: the last run's teacher scores, by :func:`_cache_key`
_SCORED: dict[tuple, tuple[dict[str, list[Any]], dict[str, Any]]] = {}


def _cache_key(teacher_cfg, labels: Sequence[str], train: Sequence[Example]) -> tuple:
    """What the teacher's scores depend on: its weights (path, size, mtime), the unlabeled inputs
    as they are now, the labels and the training texts."""
    import hashlib
    from pathlib import Path

    def stamp(path: str) -> tuple:
        p = Path(path)
        files = sorted(p.rglob("*")) if p.is_dir() else [p]
        return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file())

    texts = hashlib.sha256("\n".join(e.text for e in train).encode("utf-8", "surrogatepass")).hexdigest()
    return (stamp(teacher_cfg.model or teacher_cfg.scores), tuple(stamp(u) for u in teacher_cfg.unlabeled),
            tuple(labels), texts)
