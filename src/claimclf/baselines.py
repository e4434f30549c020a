"""Baselines to compare the fine-tuned model against (scikit-learn).

Both expose ``labels``, ``predict_proba`` and ``decide`` like
:class:`~claimclf.ClaimClassifier`, so :func:`claimclf.evaluate.evaluate`
scores them the same way, article path (segmentation) included.
:func:`first_names_baseline` is the rule baseline for actors (source and target).
"""

from __future__ import annotations

import re as _re
from collections.abc import Sequence

import numpy as np

from .data import Example
from .labels import negative_label
from .model import ClaimClassifier


class _SklearnBase:
    decide = ClaimClassifier.decide
    path = None
    thresholds: dict[str, float] = {}  # per-act decision thresholds (fit_thresholds), as the fine-tuned model has

    def __init__(self, labels: Sequence[str]):
        self.labels = tuple(labels)
        self.negative_label = negative_label(self.labels)
        self.pipeline = None

    def features(self, texts: Sequence[str]):
        return list(texts)

    def fit(self, train: Sequence[Example], dev: Sequence[Example], Cs=(0.3, 1.0, 3.0, 10.0)):
        """Fit logistic regression; pick C by dev macro-F1."""
        from sklearn.metrics import f1_score

        y = [self.labels.index(e.label) for e in train]
        y_dev = [self.labels.index(e.label) for e in dev]
        x, x_dev = self.features([e.text for e in train]), self.features([e.text for e in dev])
        best = None
        for c in Cs:
            model = self.make(c).fit(x, y)
            f1 = f1_score(y_dev, model.predict(x_dev), average="macro")
            if best is None or f1 > best[0]:
                best = (f1, c, model)
        self.dev_macro_f1, self.C, self.pipeline = best
        return self

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)))
        proba = self.pipeline.predict_proba(self.features(texts))
        out = np.zeros((len(texts), len(self.labels)))
        out[:, self.pipeline.classes_] = proba
        if progress is not None:
            progress(len(texts))
        return out


class TfidfBaseline(_SklearnBase):
    """TF-IDF word 1-2 grams + character 2-5 grams, logistic regression."""

    def make(self, c: float):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        return make_pipeline(
            make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
                       TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
            LogisticRegression(C=c, max_iter=3000))


class FrozenEmbeddingBaseline(_SklearnBase):
    """Frozen sentence embeddings (mean-pooled, normalised, as sentence-transformers) + logistic regression."""

    def __init__(self, labels: Sequence[str], base_model: str | None = None, max_length: int = 128):
        super().__init__(labels)
        from transformers import AutoModel, AutoTokenizer

        from .model import check_model_folder, resolve_base_model

        path = resolve_base_model(base_model)
        check_model_folder(path)  # no custom code, no pickled weights
        self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        self.encoder = AutoModel.from_pretrained(path, use_safetensors=True, trust_remote_code=False).eval()
        self.max_length = max_length
        self._cache: dict[str, np.ndarray] = {}

    def features(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        # (length, text): a fixed order, so batches, padding and the embeddings are the same every run
        todo = sorted({t for t in texts if t not in self._cache}, key=lambda t: (len(t), t))
        for i in range(0, len(todo), 64):
            batch = todo[i : i + 64]
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="pt")
            with torch.inference_mode():
                hidden = self.encoder(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            emb = torch.nn.functional.normalize(emb, dim=-1).numpy()
            self._cache.update(zip(batch, emb))
        return np.stack([self._cache[t] for t in texts])

    def make(self, c: float):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=c, max_iter=3000)


# ------------------------------------------------------------------ actors

#: words that mark each act in a sentence (stems), for the rule baseline below
ACT_WORDS = {
    "accusation": ("accus", "blam", "charg", "alleg", "condemn", "indict", "fault", "responsib", "denounc",
                   "criticiz", "criticis", "point", "hold", "held", "claim"),
    "denial": ("den", "reject", "dismiss", "refut", "rebuff", "insist", "no role", "not involved"),
    "agreement": ("agre", "sign", "deal", "pact", "accord", "treaty", "reach", "ink", "strik", "struck"),
    "military_deployment": ("deploy", "sen", "dispatch", "station", "mov", "withdr", "pull", "troop", "forces",
                            "warship", "reinforc", "arriv"),
}
_NAME = _re.compile(r"(?:[A-Z][\w'’.-]*|U\.S\.|U\.N\.)(?:\s+(?:of\s+|the\s+|de\s+|al-)?(?:[A-Z][\w'’.-]*))*")


def first_names_baseline(text: str, act: str) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """The rule baseline for actors: the first capitalised name before the act's first marker word
    (``ACT_WORDS``) as source, the first one after it as target; without a marker, the first and
    the second names. Returns character spans (start, end) or None."""
    words = [(m.start(), m.group(0).lower()) for m in _re.finditer(r"[A-Za-z][\w'-]*", text)]
    marker = next((pos for pos, w in words if w.startswith(ACT_WORDS.get(act, ()))), None)
    names = []
    for m in _NAME.finditer(text):
        end = m.end()
        last = m.group(0).split()[-1]
        if last.endswith(".") and "." not in last[:-1]:  # a full stop, not "U.S."
            end -= 1
        names.append((m.start(), end))
    if marker is None:
        return (names[0] if names else None), (names[1] if len(names) > 1 else None)
    before = [n for n in names if n[1] <= marker]
    after = [n for n in names if n[0] > marker]
    return (before[0] if before else None), (after[0] if after else None)
