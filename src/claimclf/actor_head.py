"""The actor head: source and target spans from the same encoder pass as the sentence label.

For every token the head reads the encoder's hidden states at a few layers (concatenated; a
middle layer keeps more of where a name is than the last, which the sentence label has shaped)
and gives, per act, four scores: source start, source end, target start, target end. The
``[CLS]`` token stands for "no such actor" (as in SQuAD 2.0). Decoding, with no torch, is in
:mod:`claimclf.actors`.

The head is fitted on a trained classifier whose encoder stays frozen, so adding it changes no
sentence score. Its weights are ``actors.safetensors`` in the model folder; its settings are
the ``actors`` entry of ``claimclf.json``. Both ONNX graphs compute it beside the logits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .actors import CHANNELS_PER_ACT, ROLES, token_targets
from .data import Example
from .errors import ClaimClfError

log = logging.getLogger(__name__)

HEAD_FILE = "actors.safetensors"
#: the head always gets at least this many optimizer steps (more epochs over a small corpus)
MIN_STEPS = 300


@dataclass
class ActorHeadConfig:
    """What ``claimclf.json`` records under ``actors`` (and what the head is built from)."""

    acts: list[str]
    layers: list[int] = field(default_factory=lambda: [3, 6])
    hidden: int = 256
    #: longest span, in tokens, and the bonus of the "no actor" answer: chosen on the project's dev sets
    #: (written dev + real dev, pooled exact match; 99% of gold spans are <= 10 tokens)
    max_tokens: int = 12
    null_bias: float = 1.0
    file: str = HEAD_FILE

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, obj: dict[str, Any], where: str = "claimclf.json") -> ActorHeadConfig:
        try:
            cfg = cls(**{k: obj[k] for k in ("acts", "layers", "hidden", "max_tokens", "null_bias", "file")
                         if k in obj})
        except TypeError as exc:
            raise ClaimClfError(f"{where}: malformed 'actors' entry ({exc})") from None
        if not cfg.acts or not cfg.layers or cfg.hidden < 1 or cfg.max_tokens < 1:
            raise ClaimClfError(f"{where}: malformed 'actors' entry")
        return cfg


def head_input(hidden_states, layers: Sequence[int]):
    """What the head reads: the encoder's hidden states at ``layers`` (0: the embeddings), concatenated
    per token."""
    import torch

    return torch.cat([hidden_states[i] for i in layers], dim=-1)


def build_head(width: int, cfg: ActorHeadConfig):
    """The head as a torch module: LayerNorm, Linear, GELU, Linear to ``4 * len(acts)`` scores."""
    import torch

    class ActorHead(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = list(cfg.layers)
            self.norm = torch.nn.LayerNorm(width * len(cfg.layers))
            self.hidden = torch.nn.Linear(width * len(cfg.layers), cfg.hidden)
            self.dropout = torch.nn.Dropout(0.1)
            self.out = torch.nn.Linear(cfg.hidden, CHANNELS_PER_ACT * len(cfg.acts))

        def features(self, hidden_states):
            return head_input(hidden_states, self.layers)

        def forward(self, features):
            return self.out(self.dropout(torch.nn.functional.gelu(self.hidden(self.norm(features)))))

    return ActorHead()


def save_head(head, cfg: ActorHeadConfig, folder: str | Path) -> Path:
    from safetensors.torch import save_file

    path = Path(folder) / cfg.file
    save_file({k: v.detach().float().contiguous().cpu() for k, v in head.state_dict().items()}, str(path))
    return path


def load_head(folder: str | Path, cfg: ActorHeadConfig, width: int, device: str = "cpu"):
    """The head of a model folder, from safetensors only."""
    from safetensors.torch import load_file

    path = Path(folder) / cfg.file
    if not path.exists():
        raise ClaimClfError(f"{path}: missing (claimclf.json names an actor head)")
    head = build_head(width, cfg)
    try:
        missing, unexpected = head.load_state_dict(load_file(str(path)), strict=False)
    except (RuntimeError, OSError) as exc:
        raise ClaimClfError(f"{path}: not this model's actor head ({str(exc).splitlines()[0]})") from None
    if missing or unexpected:
        raise ClaimClfError(f"{path}: not this model's actor head (missing {missing}, unexpected {unexpected})")
    return head.to(device).eval()


def has_actor_spans(example: Example) -> bool:
    """Whether a gold sentence says who its actors are (an act whose ``source``/``target`` are given,
    null included)."""
    return "source" in example.meta and "target" in example.meta


def _targets(offsets: Sequence[tuple[int, int]], example: Example) -> list[int]:
    out = []
    for role in ROLES:
        out.extend(token_targets(offsets, example.meta.get(role)))
    return out


def _encode(clf, texts: Sequence[str], layers: Sequence[int], progress: bool = False) -> list[tuple[Any, Any]]:
    """Per text, in order: the head's input (:func:`head_input`, float16, ``[tokens, width *
    len(layers)]``) and the tokens' character offsets. Texts go through the
    encoder in batches of 64, in the order given (their padding, and so the last bits of their
    features, depend on their neighbours: callers pass them sorted by length)."""
    from tqdm.auto import tqdm

    import torch

    out: list[tuple[Any, Any]] = []
    if not texts:
        return out
    encoded = clf.encode_with_offsets(list(texts))
    bar = tqdm(total=len(texts), desc="actor head: encoding", unit="sent", disable=not progress, leave=False)
    for start in range(0, len(texts), 64):
        batch = encoded[start : start + 64]
        hidden_states = clf.hidden_states([ids for ids, _ in batch])
        with torch.no_grad():
            f = head_input(hidden_states, layers).to(torch.float16)
        out.extend((f[row, : len(ids)].clone(), offsets) for row, (ids, offsets) in enumerate(batch))
        bar.update(len(batch))
    bar.close()
    return out


def encode_features(clf, texts: Sequence[str], layers: Sequence[int], *, cache: dict | None = None,
                    progress: bool = False) -> dict:
    """The head's input (see :func:`_encode`) for each distinct text, stored in (and returned as)
    ``cache``, keyed by ``(tuple(layers), text)``; texts already there are not encoded again."""
    cache = {} if cache is None else cache
    key = tuple(int(i) for i in layers)
    todo = sorted({t for t in texts if (key, t) not in cache}, key=len)
    cache.update({(key, t): v for t, v in zip(todo, _encode(clf, todo, key, progress))})
    return cache


def pad_features(feats: Sequence[Any]):
    """Per-sentence token features (``[tokens, width]`` each) as one float32 batch ``[sentences,
    longest, width]``, zero-padded, and its mask (True on real tokens)."""
    import torch

    width = max(len(f) for f in feats)
    x = torch.zeros((len(feats), width, feats[0].shape[-1]))
    mask = torch.zeros((len(feats), width), dtype=torch.bool)
    for row, f in enumerate(feats):
        x[row, : len(f)] = f.float()
        mask[row, : len(f)] = True
    return x, mask


def span_loss(scores, mask, act_ids: Sequence[int], targets: Sequence[Sequence[int]]):
    """The head's training loss for a batch: per sentence, cross-entropy over its tokens of each of
    its act's four channels (source start/end, target start/end; token 0, ``[CLS]``, is "no actor"),
    summed over the channels and averaged over the batch. ``scores``: ``[batch, tokens, 4 * acts]``;
    ``mask``: ``[batch, tokens]``, True on real tokens; ``targets``: per sentence its 4 gold token
    indices (:func:`_targets`)."""
    import torch

    scores = scores.masked_fill(~mask[..., None], -1e4)
    acts_t = torch.tensor(list(act_ids))
    gold = torch.tensor([list(t) for t in targets])
    rows = torch.arange(len(gold))
    return sum(torch.nn.functional.cross_entropy(scores[rows, :, acts_t * CHANNELS_PER_ACT + k], gold[:, k])
               for k in range(CHANNELS_PER_ACT))


@dataclass
class ActorFit:
    head: Any
    config: ActorHeadConfig
    report: dict[str, Any]


def fit_actor_head(clf, train: Sequence[Example], *, epochs: int = 8, learning_rate: float = 1e-3,
                   batch_size: int = 32, seed: int = 42, layers: Sequence[int] | None = None, hidden: int = 256,
                   max_tokens: int = 12, null_bias: float = 1.0, progress: bool = False,
                   cache: dict | None = None) -> ActorFit:
    """Fit the actor head on the act sentences of ``train`` that carry ``source``/``target``
    (``meta``), over the frozen encoder of ``clf`` (a torch-backed :class:`ClaimClassifier`). The
    encoder runs once over the sentences; the head then trains on the stored hidden states.
    ``layers``: the hidden states it reads (0: the embeddings); default the middle and the last.
    ``progress``: progress bars for the encoding and the epochs. ``cache``: a dict kept between
    calls on the same ``clf`` (cross-validation, sweeps): each sentence's features and token
    offsets are stored there, keyed by the layers and the text, and the encoder runs only on
    sentences it does not hold yet."""
    from tqdm.auto import tqdm

    import torch

    if clf.model is None:
        raise ClaimClfError("fitting the actor head needs the torch backend (ClaimClassifier.load(..., backend='torch'))")
    acts = [a for a in clf.labels if a != clf.negative_label]
    n_layers = int(clf.model.config.num_hidden_layers)
    layers = list(layers) if layers else [n_layers // 2, n_layers]  # a middle layer keeps more of where names are
    bad = [i for i in layers if not 0 <= int(i) <= n_layers]
    if bad:
        raise ClaimClfError(f"actor head layers {bad} are outside 0..{n_layers} (0 is the embeddings)")
    cfg = ActorHeadConfig(acts=acts, layers=[int(i) for i in layers], hidden=int(hidden), max_tokens=int(max_tokens),
                          null_bias=float(null_bias))
    examples = [e for e in train if e.label in acts and has_actor_spans(e)]
    if not examples:
        raise ClaimClfError("no act sentence in the training data gives 'source'/'target' spans")
    started = time.time()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    # the frozen encoder, once: per sentence its token features and gold token targets. Without a
    # cache every example is encoded in length order (a repeated source's copies too), as the shipped
    # head was fitted; with one, each distinct text once (features equal up to float16 rounding)
    order = sorted(examples, key=lambda e: len(e.text))
    if cache is None:
        inputs = _encode(clf, [e.text for e in order], cfg.layers, progress)
    else:
        encode_features(clf, [e.text for e in order], cfg.layers, cache=cache, progress=progress)
        inputs = [cache[(tuple(cfg.layers), e.text)] for e in order]
    feats = [f for f, _ in inputs]
    targets = [_targets(offsets, e) for (_, offsets), e in zip(inputs, order)]
    act_ids = [acts.index(e.label) for e in order]
    head = build_head(feats[0].shape[-1] // len(cfg.layers), cfg)
    encode_s = time.time() - started

    opt = torch.optim.AdamW(head.parameters(), lr=learning_rate, weight_decay=0.01)
    per_epoch = (len(feats) + batch_size - 1) // batch_size
    epochs = max(epochs, -(-MIN_STEPS // per_epoch))  # a small corpus gets more passes, not fewer steps
    steps = epochs * per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / max(1, steps)))
    losses = []
    head.train()
    bar = tqdm(total=steps, desc="actor head: fitting", unit="step", disable=not progress, leave=False)
    for epoch in range(epochs):
        perm = rng.permutation(len(feats))
        total = 0.0
        for b in range(0, len(perm), batch_size):
            idx = perm[b : b + batch_size]
            x, mask = pad_features([feats[i] for i in idx])
            loss = span_loss(head(x), mask, [act_ids[i] for i in idx], [targets[i] for i in idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            bar.update(1)
        losses.append(round(total / len(feats), 4))
        bar.set_postfix(epoch=epoch + 1, loss=losses[-1])
    bar.close()
    head.eval()
    report = {"config": cfg.as_dict(), "sentences": len(feats), "by_act": {a: act_ids.count(i) for i, a in enumerate(acts)},
              "epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size, "seed": seed,
              "loss_by_epoch": losses, "encode_seconds": round(encode_s, 1),
              "fit_seconds": round(time.time() - started - encode_s, 1)}
    return ActorFit(head, cfg, report)
