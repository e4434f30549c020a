"""Scoring and reports: every metric is computed here, in one place.

``score()`` turns gold and predicted labels into metrics (scikit-learn);
``evaluate()`` runs a classifier over a gold file (sentences, or whole articles
through segmentation) and ``write_report()`` writes ``metrics.json``,
``report.md``, ``confusion_matrix.png``, ``errors.jsonl`` (and ``actor_errors.jsonl``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .data import Example, iter_jsonl, read_examples
from .errors import InputError
from .labels import negative_label

# ----------------------------------------------------------------------- metrics


def expected_calibration_error(probs: np.ndarray, gold_idx: np.ndarray, n_bins: int = 15) -> float:
    """ECE of the top-class confidence, equal-width bins."""
    if len(probs) == 0:
        return 0.0
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == gold_idx
    bins = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(bins[:-1], bins[1:]):
        in_bin = (conf > lo) & (conf <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(conf[in_bin].mean() - correct[in_bin].mean())
    return float(ece)


def fit_temperature(logits: np.ndarray, gold_idx: np.ndarray) -> float:
    """Temperature minimizing the negative log-likelihood on held-out data (grid + refine)."""

    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(gold_idx)), gold_idx].mean())

    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 60))
    best = min(grid, key=nll)
    fine = np.linspace(best * 0.9, best * 1.1, 41)
    return float(min(fine, key=nll))


def false_alarm_rate(gold: Sequence[str], pred: Sequence[str], negative: str | None) -> float | None:
    """Share of gold-negative (``other``) sentences predicted as one of the acts."""
    if negative is None:
        return None
    flags = [p != negative for g, p in zip(gold, pred) if g == negative]
    return float(np.mean(flags)) if flags else None


def score(
    gold: Sequence[str],
    pred: Sequence[str],
    labels: Sequence[str],
    *,
    probs: np.ndarray | None = None,
    gold_sets: Sequence[Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class P/R/F1, confusion matrix, false-alarm rate; with
    ``probs`` also ECE; with ``gold_sets`` (every applicable label) lenient accuracy."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    labels = list(labels)
    present = [name for name in labels if name in set(gold) or name in set(pred)]
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    negative = negative_label(labels)
    result: dict[str, Any] = {
        "n": len(gold),
        "accuracy": float(accuracy_score(gold, pred)) if gold else 0.0,
        "macro_f1": float(f1_score(gold, pred, labels=present, average="macro", zero_division=0)) if gold else 0.0,
        "per_class": {
            name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, name in enumerate(labels)
        },
        "labels": labels,
        "confusion_matrix": confusion_matrix(gold, pred, labels=labels).tolist() if gold else [],
        "false_alarm_rate": false_alarm_rate(gold, pred, negative),
    }
    if negative is not None:
        acts = [name for name in labels if name != negative]
        # precision/recall of "this sentence reports some act", whatever the act
        tp = sum(1 for g, q in zip(gold, pred) if g != negative and q != negative)
        fp = sum(1 for g, q in zip(gold, pred) if g == negative and q != negative)
        fn = sum(1 for g, q in zip(gold, pred) if g != negative and q == negative)
        result["act_detection"] = {
            "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0,
        }
        result["macro_f1_acts"] = float(np.mean([result["per_class"][a]["f1"] for a in acts]))
    if probs is not None and len(gold):
        l2i = {name: i for i, name in enumerate(labels)}
        result["ece"] = expected_calibration_error(probs, np.array([l2i[g] for g in gold]))
    if gold_sets is not None and len(gold):
        result["lenient_accuracy"] = float(np.mean([q in set(gs) for q, gs in zip(pred, gold_sets)]))
    return result


_ARTICLES = frozenset({"a", "an", "the"})


def normalize_span(text: str | None) -> str | None:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    if text is None:
        return None
    import string

    text = "".join(" " if ch in string.punctuation or ch in "‘’“”" else ch for ch in text.lower())
    return " ".join(w for w in text.split() if w not in _ARTICLES)


def span_match(pred: str | None, gold: str | None) -> tuple[float, float]:
    """(exact match, token-overlap F1) of a predicted and a gold actor text, either possibly None
    (no actor): both None is a match; one None scores 0."""
    if pred is None or gold is None:
        return (1.0, 1.0) if pred is None and gold is None else (0.0, 0.0)
    p, g = normalize_span(pred).split(), normalize_span(gold).split()
    if p == g:
        return 1.0, 1.0
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0, 0.0
    precision, recall = common / len(p), common / len(g)
    return 0.0, 2 * precision * recall / (precision + recall)


def _text(span: Any) -> str | None:
    if span is None:
        return None
    if isinstance(span, str):
        return span
    return span.text if hasattr(span, "text") else span.get("text")


def score_actors(gold: Sequence[Example], predicted: Sequence[tuple[Any, Any]],
                 end_to_end: Sequence[tuple[Any, Any]] | None = None,
                 baseline: Sequence[tuple[Any, Any]] | None = None) -> dict[str, Any]:
    """Actor metrics over gold act sentences that carry ``source``/``target`` (``meta``).

    ``predicted``: (source, target) per gold sentence, extracted for its *gold* act (what the
    actor head does, apart from the sentence label); ``end_to_end``: from the predict path (null
    where the sentence was not given that act); ``baseline``: the rule baseline, for the gold act.
    Per role: exact match and token-overlap F1 (SQuAD normalisation). Countries: where the gold
    actor carries a ``country`` code, how often the predicted actor has the same code."""
    def roles(pairs, examples=gold):
        out = {}
        for r, role in enumerate(("source", "target")):
            scored = [span_match(_text(pair[r]), _text(ex.meta.get(role))) for ex, pair in zip(examples, pairs)]
            out[role] = {"exact_match": float(np.mean([s[0] for s in scored])) if scored else 0.0,
                         "overlap_f1": float(np.mean([s[1] for s in scored])) if scored else 0.0,
                         "n": len(scored), "gold_named": sum(bool(ex.meta.get(role)) for ex in examples)}
        return out

    metrics: dict[str, Any] = {"n": len(gold), **roles(predicted)}
    metrics["by_act"] = {}
    for act in sorted({ex.label for ex in gold}):
        idx = [i for i, ex in enumerate(gold) if ex.label == act]
        sub = roles([predicted[i] for i in idx], [gold[i] for i in idx]) if idx else {}
        metrics["by_act"][act] = {"n": len(idx), **{r: {k: v[k] for k in ("exact_match", "overlap_f1")}
                                                     for r, v in sub.items()}}
    if end_to_end is not None:
        metrics["end_to_end"] = roles(end_to_end)
    if baseline is not None:
        metrics["baseline"] = roles(baseline)
    from .countries import country_code

    hits = total = extra = no_country = lookup = 0
    for ex, pair in zip(gold, predicted):
        for r, role in enumerate(("source", "target")):
            g = ex.meta.get(role)
            if not isinstance(g, dict) or "country" not in g:
                continue
            got = getattr(pair[r], "country", None) if pair[r] is not None else None
            if g["country"]:
                total += 1
                hits += got == g["country"]
                lookup += country_code(g.get("text")) == g["country"]
            else:
                no_country += 1
                extra += got is not None
    if total or no_country:
        metrics["country"] = {"accuracy": hits / total if total else None, "n": total,
                              "lookup_accuracy": lookup / total if total else None,
                              "coded_where_gold_has_none": extra / no_country if no_country else None,
                              "n_without_country": no_country}
    return metrics


def threshold_table(probs: np.ndarray, gold: Sequence[str], labels: Sequence[str],
                    thresholds: Sequence[float] = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)) -> list[dict[str, float]]:
    """Act-detection precision/recall, macro-F1 and false alarms at several ``--threshold`` values."""
    negative = negative_label(labels)
    neg_i = list(labels).index(negative) if negative else None
    rows = []
    for t in thresholds:
        idx = probs.argmax(axis=1)
        if neg_i is not None:
            idx = np.where((idx != neg_i) & (probs.max(axis=1) < t), neg_i, idx)
        pred = [labels[i] for i in idx]
        s = score(gold, pred, labels)
        rows.append({
            "threshold": float(t),
            "act_precision": s.get("act_detection", {}).get("precision", 0.0),
            "act_recall": s.get("act_detection", {}).get("recall", 0.0),
            "macro_f1": s["macro_f1"],
            "false_alarm_rate": s["false_alarm_rate"],
        })
    return rows


def bootstrap_intervals(rows: Sequence[dict[str, Any]], labels: Sequence[str], *, group: str | None = "article",
                        n: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, Any]:
    """Percentile bootstrap intervals for per-class F1, macro-F1 and the false-alarm rate.

    ``rows`` are evaluation rows (``gold``, ``predicted``); resampling is by ``group`` (whole
    articles, since sentences of one story are not independent) when the rows carry it, else
    by sentence. Returns ``{"macro_f1": (lo, hi), "false_alarm_rate": (lo, hi), "f1": {label: (lo, hi)}}``.
    """
    from sklearn.metrics import f1_score

    labels = list(labels)
    negative = negative_label(labels)
    keys = [r.get(group) if group else i for i, r in enumerate(rows)]
    if any(k is None for k in keys):
        keys = list(range(len(rows)))
    groups: dict[Any, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    members = list(groups.values())
    gold = np.array([r["gold"] for r in rows])
    pred = np.array([r["predicted"] for r in rows])
    rng = np.random.default_rng(seed)
    stats: dict[str, list[float]] = {"macro_f1": [], "false_alarm_rate": [], **{f"f1:{x}": [] for x in labels}}
    for _ in range(n):
        idx = np.concatenate([members[j] for j in rng.integers(0, len(members), len(members))])
        g, p = gold[idx], pred[idx]
        present = [x for x in labels if x in set(g) or x in set(p)]
        stats["macro_f1"].append(f1_score(g, p, labels=present, average="macro", zero_division=0))
        per = f1_score(g, p, labels=labels, average=None, zero_division=0)
        for x, f in zip(labels, per):
            if (g == x).any():
                stats[f"f1:{x}"].append(f)
        if negative is not None and (g == negative).any():
            stats["false_alarm_rate"].append(float((p[g == negative] != negative).mean()))
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]

    def interval(values):
        return tuple(float(v) for v in np.percentile(values, q)) if values else None

    return {"macro_f1": interval(stats["macro_f1"]), "false_alarm_rate": interval(stats["false_alarm_rate"]),
            "f1": {x: interval(stats[f"f1:{x}"]) for x in labels}, "resamples": n, "by": group or "sentence"}


def apply_thresholds(probs: np.ndarray, labels: Sequence[str], thresholds: dict[str, float]) -> list[str]:
    """Labels under per-act thresholds: the top class, or ``other`` where the top act scores below
    its threshold (what :meth:`claimclf.ClaimClassifier.decide` does)."""
    from .model import threshold_decisions

    idx, _ = threshold_decisions(np.asarray(probs), labels, thresholds)
    return [labels[i] for i in idx]


def fit_thresholds(probs: np.ndarray, gold: Sequence[str], labels: Sequence[str], *,
                   min_precision: float = 0.85) -> dict[str, dict[str, float]]:
    """Per act, the decision threshold with the highest recall at precision >= ``min_precision``.

    A sentence is labeled act ``c`` when ``c`` is its top class and ``p(c) >= t_c`` (else
    ``other``); recall only falls as ``t_c`` rises, so the answer is the lowest ``t_c`` whose
    precision reaches ``min_precision``. Where no threshold reaches it, the one with the best
    precision (the lowest such) is kept and ``reached`` is false. Returns, per act,
    ``threshold``, ``precision``, ``recall``, ``support`` and ``reached``.
    """
    labels = list(labels)
    negative = negative_label(labels)
    top = probs.argmax(axis=1)
    grid = np.round(np.concatenate([[0.0], np.arange(0.30, 0.995, 0.01)]), 2)
    out: dict[str, dict[str, float]] = {}
    for i, name in enumerate(labels):
        if name == negative:
            continue
        is_gold = np.array([g == name for g in gold])
        candidates = []
        for t in grid:
            chosen = (top == i) & (probs[:, i] >= t)
            if not chosen.any():
                break
            precision = float(is_gold[chosen].mean())
            recall = float((chosen & is_gold).sum() / is_gold.sum()) if is_gold.any() else 0.0
            candidates.append((float(t), precision, recall))
        reached = [c for c in candidates if c[1] >= min_precision]
        if reached:
            t, precision, recall = reached[0]
        elif candidates:
            t, precision, recall = max(candidates, key=lambda c: (c[1], -c[0]))
        else:
            t, precision, recall = 0.0, 0.0, 0.0
        out[name] = {"threshold": t, "precision": precision, "recall": recall, "support": int(is_gold.sum()),
                     "reached": bool(reached)}
    return out


# ----------------------------------------------------------------------- gold files


@dataclass
class GoldArticle:
    id: str
    text: str
    sentences: list[Example]


@dataclass
class EvalResult:
    metrics: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per gold sentence
    actor_errors: list[dict[str, Any]] = field(default_factory=list)  # gold act sentences with a wrong actor


def is_article_gold(path: str | Path) -> bool:
    p = Path(path)
    if not str(path).startswith("hf:") and not p.exists():
        raise InputError(p, "no such file")
    if p.is_dir() or p.suffix.lower() not in (".jsonl", ".json", ".ndjson"):
        return False
    for _, obj in iter_jsonl(p):
        return "sentences" in obj
    return False


def read_article_gold(path: str | Path, labels: Sequence[str] | None = None) -> list[GoldArticle]:
    """``{"id", "text", "sentences": [{"text", "label", "labels"}]}`` per line, validated."""
    from .data import _example_from_record, _text_field

    articles, seen = [], set()
    for lineno, obj in iter_jsonl(path):
        text = _text_field(path, lineno, obj)
        ident = str(obj.get("id", f"article-{lineno}"))
        if ident in seen:
            raise InputError(path, f"duplicate id '{ident}'", lineno)
        seen.add(ident)
        sents = obj.get("sentences")
        if not isinstance(sents, list) or not sents:
            raise InputError(path, "'sentences' must be a non-empty list", lineno)
        exs = []
        cursor = 0
        for j, rec in enumerate(sents):
            if not isinstance(rec, dict):
                raise InputError(path, f"sentence {j}: expected an object", lineno)
            ex = _example_from_record(path, lineno, rec, labels, f"{ident}-{j}")
            found = text.find(ex.text, cursor)
            if found < 0:
                raise InputError(path, f"sentence {j} is not found in the article text (in order)", lineno)
            cursor = found + len(ex.text)
            exs.append(Example(f"{ident}-{j}", ex.text, ex.label, ex.labels,
                               {**ex.meta, "start": found, "end": cursor, "article": ident}))
        articles.append(GoldArticle(ident, text, exs))
    return articles


# ----------------------------------------------------------------------- evaluation


def evaluate(clf, gold_path: str | Path, *, threshold: float | None = None, batch_size: int = 32,
             progress: bool = False, texts: str | Path | None = None, split: str | None = None) -> EvalResult:
    """Score ``clf`` (a :class:`~claimclf.ClaimClassifier`) on a gold file.

    A sentence gold file (JSONL/CSV/datasets) scores each sentence; an article gold
    file (``sentences`` per line) runs the whole predict path, segmentation included,
    and maps each gold sentence to the predicted sentence that overlaps it most. With
    ``texts``, ``gold_path`` is a standoff label file (:mod:`claimclf.standoff`) whose
    documents are read from ``texts`` and scored as articles (``split``: one split only).
    """
    labels = list(clf.labels)
    if texts is not None:
        from .standoff import read_standoff_articles

        articles = read_standoff_articles(gold_path, texts, split=split, labels=labels)
        result = _evaluate_articles(clf, articles, threshold, batch_size, progress)
        result.metrics["gold_file"] = f"{gold_path}" + (f" (split {split})" if split else "")
        return result
    if split is not None:
        raise InputError(gold_path, "a split is only chosen in a standoff label file (give its texts)")
    if is_article_gold(gold_path):
        return _evaluate_articles(clf, read_article_gold(gold_path, labels), threshold, batch_size, progress)
    examples = read_examples(gold_path, labels)
    if not examples:
        raise InputError(gold_path, "no gold sentences")
    bar = _bar(len(examples), progress)
    probs, actors = _scores(clf, [e.text for e in examples], batch_size, bar.update)
    bar.close()
    preds = clf.decide(probs, threshold, actors)
    gold = [e.label for e in examples]
    metrics = score(gold, [p.label for p in preds], labels, probs=probs,
                    gold_sets=[e.all_labels for e in examples])
    metrics["gold_file"] = str(gold_path)
    rows = [_row(e, p) for e, p in zip(examples, preds)]
    actor_errors = _add_actor_metrics(clf, metrics, examples, preds, batch_size)
    return EvalResult(metrics, rows, actor_errors)


def _add_actor_metrics(clf, metrics: dict[str, Any], examples: Sequence[Example], preds: Sequence[Any],
                       batch_size: int) -> list[dict[str, Any]]:
    """``metrics["actors"]`` where the gold gives actors and the model has an actor head; returns the
    actor errors: each gold act sentence whose source or target (extracted for the gold act) does
    not match the gold exactly, with both sides' text and country code."""
    from .actor_head import has_actor_spans
    from .baselines import first_names_baseline

    if not getattr(clf, "has_actors", False):
        return []
    acts = set(clf.actor_config.acts)
    idx = [i for i, e in enumerate(examples) if e.label in acts and has_actor_spans(e)]
    if not idx:
        return []
    gold = [examples[i] for i in idx]
    extracted = clf.extract_actors([e.text for e in gold], [e.label for e in gold], batch_size=batch_size)
    e2e = [(preds[i].source, preds[i].target) if preds[i].label == examples[i].label else (None, None) for i in idx]

    def cut(text, span):
        return None if span is None else text[span[0] : span[1]]

    rule = [tuple(cut(e.text, sp) for sp in first_names_baseline(e.text, e.label)) for e in gold]
    metrics["actors"] = score_actors(gold, extracted, e2e, rule)
    return actor_error_rows(gold, extracted, [preds[i].label for i in idx])


def actor_error_rows(gold: Sequence[Example], extracted: Sequence[tuple[Any, Any]],
                     predicted_labels: Sequence[str]) -> list[dict[str, Any]]:
    """One row per gold act sentence with a source or target that is not an exact match
    (SQuAD normalisation), for ``actor_errors.jsonl``: the gold and predicted text and country of
    both roles, which roles are wrong, and the label the predict path gave the sentence."""
    def country(span):
        if span is None or isinstance(span, str):
            return None
        return getattr(span, "country", None) if not isinstance(span, dict) else span.get("country")

    out = []
    for ex, pair, label in zip(gold, extracted, predicted_labels):
        row: dict[str, Any] = {"id": ex.id, "text": ex.text, "act": ex.label, "predicted_label": label}
        wrong = []
        for r, role in enumerate(("source", "target")):
            want, got = ex.meta.get(role), pair[r]
            row[role] = {"gold": _text(want), "predicted": _text(got),
                         "gold_country": country(want), "predicted_country": country(got)}
            if span_match(_text(got), _text(want))[0] < 1.0:
                wrong.append(role)
        if wrong:
            row["wrong"] = wrong
            if "article" in ex.meta:
                row["article"] = ex.meta["article"]
            out.append(row)
    return out


def _scores(clf, texts: list[str], batch_size: int, progress) -> tuple[np.ndarray, list | None]:
    """Probabilities and, where the model has an actor head, actors: what ``predict`` decides from."""
    if getattr(clf, "has_actors", False):
        return clf.predict_scores(texts, batch_size=batch_size, progress=progress)
    return clf.predict_proba(texts, batch_size=batch_size, progress=progress), None


def _bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="sent", disable=not enabled, file=None, leave=False)


def _row(ex: Example, pred) -> dict[str, Any]:
    row = {"id": ex.id, "text": ex.text, "gold": ex.label, "gold_labels": list(ex.all_labels),
           "predicted": pred.label, "score": pred.score, "scores": pred.scores}
    if "kind" in ex.meta:
        row["kind"] = ex.meta["kind"]
    return row


def _evaluate_articles(clf, articles: list[GoldArticle], threshold, batch_size, progress) -> EvalResult:
    from .segment import segment

    labels = list(clf.labels)
    segmented = [segment(a.text) for a in articles]
    flat = [s.text for sents in segmented for s in sents]
    bar = _bar(len(flat), progress)
    probs, actors = _scores(clf, flat, batch_size, bar.update)
    bar.close()
    preds = clf.decide(probs, threshold, actors)
    rows, gold, pred, gold_sets, gold_probs, matched = [], [], [], [], [], []
    exact = 0
    k = 0
    negative = negative_label(labels)
    per_article_fa = []
    for art, sents in zip(articles, segmented):
        art_preds = preds[k : k + len(sents)]
        art_probs = probs[k : k + len(sents)]
        k += len(sents)
        fa = 0
        for ex in art.sentences:
            gs, ge = ex.meta["start"], ex.meta["end"]
            overlaps = [max(0, min(ge, s.end) - max(gs, s.start)) for s in sents]
            j = int(np.argmax(overlaps)) if overlaps else -1
            if j < 0 or overlaps[j] == 0:
                # no predicted sentence covers it (should not happen): count it as unflagged
                pr = np.eye(len(labels))[labels.index(negative or labels[-1])]
                p = clf.decide(pr[None, :])[0]
            else:
                p, pr = art_preds[j], art_probs[j]
                exact += sents[j].start == gs and sents[j].end == ge
            gold.append(ex.label)
            pred.append(p.label)
            matched.append(p)
            gold_sets.append(ex.all_labels)
            gold_probs.append(pr)
            fa += ex.label == negative and p.label != negative
            row = _row(ex, p)
            row["article"] = art.id
            rows.append(row)
        per_article_fa.append(fa)
    metrics = score(gold, pred, labels, probs=np.array(gold_probs), gold_sets=gold_sets)
    actor_errors = _add_actor_metrics(clf, metrics, [ex for art in articles for ex in art.sentences], matched,
                                      batch_size)
    metrics["articles"] = len(articles)
    metrics["segmentation_exact_match"] = exact / len(gold) if gold else 0.0
    metrics["predicted_sentences"] = len(flat)
    if negative is not None:
        metrics["articles_with_false_alarm"] = float(np.mean([f > 0 for f in per_article_fa]))
        metrics["false_alarms_per_article"] = float(np.mean(per_article_fa))
    return EvalResult(metrics, rows, actor_errors)


# ----------------------------------------------------------------------- reports


def plot_confusion(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: str | Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(7, 6))
    ConfusionMatrixDisplay(np.array(matrix), display_labels=list(labels)).plot(
        ax=ax, cmap="Blues", xticks_rotation=30, colorbar=False, values_format="d")
    ax.set_title(title or "Confusion matrix (rows: gold, columns: predicted)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def metrics_table(metrics: dict[str, Any]) -> str:
    lines = ["| class | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for name, m in metrics["per_class"].items():
        lines.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    return "\n".join(lines)


def actors_table(actors: dict[str, Any]) -> str:
    """The actor metrics as a Markdown table (model given the gold act, end to end, rule baseline)."""
    lines = ["| | source exact | source overlap F1 | target exact | target overlap F1 |", "|---|---:|---:|---:|---:|"]
    for key, name in (("", "actor head, gold act"), ("end_to_end", "end to end (predicted label)"),
                      ("baseline", "rule baseline (first names around the act word)")):
        m = actors.get(key) if key else actors
        if m:
            lines.append(f"| {name} | {m['source']['exact_match']:.3f} | {m['source']['overlap_f1']:.3f} | "
                         f"{m['target']['exact_match']:.3f} | {m['target']['overlap_f1']:.3f} |")
    for act, m in actors.get("by_act", {}).items():
        if m.get("source"):
            lines.append(f"| {act} (n={m['n']}) | {m['source']['exact_match']:.3f} | {m['source']['overlap_f1']:.3f} | "
                         f"{m['target']['exact_match']:.3f} | {m['target']['overlap_f1']:.3f} |")
    return "\n".join(lines)


def summary_lines(metrics: dict[str, Any]) -> list[str]:
    out = [f"accuracy {metrics['accuracy']:.3f}   macro-F1 {metrics['macro_f1']:.3f}   n={metrics['n']}"]
    if metrics.get("false_alarm_rate") is not None:
        out.append(f"false-alarm rate on gold 'other': {metrics['false_alarm_rate']:.3f}")
    for key, name in (("lenient_accuracy", "lenient accuracy"), ("ece", "ECE"),
                      ("segmentation_exact_match", "segmentation exact match"),
                      ("articles_with_false_alarm", "articles with >=1 false alarm")):
        if key in metrics:
            out.append(f"{name}: {metrics[key]:.3f}")
    a = metrics.get("actors")
    if a:
        out.append(f"actors (gold act, n={a['n']}): source exact {a['source']['exact_match']:.3f}, "
                   f"target exact {a['target']['exact_match']:.3f}")
        c = a.get("country")
        if c and c.get("accuracy") is not None:
            out.append(f"country codes where the gold actor names a country: {c['accuracy']:.3f} (n={c['n']})")
    return out


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(result: EvalResult, report_dir: str | Path, *, model: str = "") -> dict[str, Path]:
    """Write ``metrics.json``, ``report.md``, ``confusion_matrix.png`` (where matplotlib is
    installed) and ``errors.jsonl``, and ``actor_errors.jsonl`` where actors were scored; returns
    the files written, by name."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    m = result.metrics
    import importlib.util

    # matplotlib comes with claimclf[train]; the core install writes the table only
    plotted = bool(m["confusion_matrix"]) and importlib.util.find_spec("matplotlib") is not None
    names = ["metrics.json", "report.md", *(["confusion_matrix.png"] if plotted else []), "errors.jsonl",
             *(["actor_errors.jsonl"] if m.get("actors") else [])]
    paths = {name: report_dir / name for name in names}
    _atomic_write(paths["metrics.json"], json.dumps(m, indent=2) + "\n")
    if plotted:
        plot_confusion(m["confusion_matrix"], m["labels"], paths["confusion_matrix.png"])
    errors = [r for r in result.rows if r["predicted"] != r["gold"]]
    _atomic_write(paths["errors.jsonl"], "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in errors))
    if m.get("actors"):
        _atomic_write(paths["actor_errors.jsonl"],
                      "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in result.actor_errors))
    confusions = Counter((r["gold"], r["predicted"]) for r in errors)
    md = ["# Evaluation report", "", f"- gold: `{m.get('gold_file', '')}`", f"- model: `{model}`", ""]
    md += [f"- {line}" for line in summary_lines(m)]
    md += ["", "## Per class", "", metrics_table(m), "", "## Confusion matrix", ""]
    if plotted:
        md += ["![confusion matrix](confusion_matrix.png)", ""]
    if m["confusion_matrix"]:
        md += ["| gold \\ predicted | " + " | ".join(m["labels"]) + " |", "|---|" + "---:|" * len(m["labels"])]
        md += [f"| {g} | " + " | ".join(str(v) for v in row) + " |" for g, row in zip(m["labels"], m["confusion_matrix"])]
        md += [""]
    md += ["Rows are gold labels, columns predictions.", ""]
    if m.get("actors"):
        md += ["## Actors (source and target)", "",
               f"Over the {m['actors']['n']} gold act sentences with actors; exact match and token-overlap F1 "
               "after SQuAD normalisation (case, punctuation, articles).", "", actors_table(m["actors"]), ""]
        if result.actor_errors:
            md += [f"### Actor errors (first 25 of {len(result.actor_errors)}; all in `actor_errors.jsonl`)", "",
                   "Extracted for the gold act. A dash is no actor.", "",
                   "| act | role | gold | predicted | text |", "|---|---|---|---|---|"]
            for r in result.actor_errors[:25]:
                text = r["text"].replace("|", "\\|").replace("\n", " ")
                for role in r["wrong"]:
                    want, got = ((r[role][k] or "-").replace("|", "/") for k in ("gold", "predicted"))
                    md.append(f"| {r['act']} | {role} | {want} | {got} | {text} |")
            md += [""]
    if confusions:
        md += ["## Most frequent confusions", "", "| gold | predicted | count |", "|---|---|---:|"]
        md += [f"| {g} | {p} | {c} |" for (g, p), c in confusions.most_common(10)]
        md += ["", f"## Errors (first 25 of {len(errors)}; all in `errors.jsonl`)", "",
               "| gold | predicted | score | text |", "|---|---|---:|---|"]
        for r in errors[:25]:
            text = r["text"].replace("|", "\\|").replace("\n", " ")
            md.append(f"| {r['gold']} | {r['predicted']} | {r['score']:.2f} | {text} |")
    _atomic_write(paths["report.md"], "\n".join(md) + "\n")
    return paths
