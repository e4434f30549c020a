"""Baselines to compare the fine-tuned model against (scikit-learn).

Both expose ``labels``, ``predict_proba`` and ``decide`` like
:class:`~claimclf.ClaimClassifier`, so :func:`claimclf.evaluate.evaluate`
scores them the same way, article path (segmentation) included.
"""

from __future__ import annotations

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

        from .model import resolve_base_model

        path = resolve_base_model(base_model)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.encoder = AutoModel.from_pretrained(path, use_safetensors=True).eval()
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
