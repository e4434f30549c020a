"""Is more actor training data worth it? Cross-validated check of the actor head, encoder frozen.

The actor head is fitted on the default config's training mix (written train + real train x3),
optionally with more span data (``--extra``: JSON Lines act sentences with ``source``/``target``
offsets, as in the corpus). Its worth on real copy is measured without touching real test:

* 5-fold cross-validation over the real-train stories (each fold fits on written train, four
  fifths of real train x3 and the extra data, then scores the real act sentences it held out);
* real dev and written dev, from a head fitted on all of real train.

Scores are exact match (SQuAD normalisation) of source and target given the gold act, their
mean being the figure compared. Each condition is fitted with ``--seeds`` seeds; the encoder runs
once per distinct sentence (features cached in memory).

    python training/actor_cv.py --seeds 43 44                      # the shipped recipe
    python training/actor_cv.py --seeds 43 44 --extra training/extra/actors_real_style.jsonl
    python training/actor_cv.py --seeds 43 44 --null-bias 0 0.5 1 1.5 2 3       # the "no actor" bonus
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claimclf.actor_head import encode_features, fit_actor_head, has_actor_spans
from claimclf.actors import decode_actors
from claimclf.config import load_config
from claimclf.data import read_jsonl_examples
from claimclf.evaluate import score_actors
from claimclf.model import ClaimClassifier
from claimclf.train import read_source

HERE = Path(__file__).resolve().parent


@dataclass
class ActSets:
    """The act sentences with spans that the actor checks use, from the default config's sources."""

    written: list            # written train
    real: list               # real train (seen ``real_source.repeat`` times in training)
    real_source: Any
    real_dev: list
    written_dev: list
    fold_of: dict[str, int]  # real-train story -> its cross-validation fold


def load_sets(config: str, folds: int = 5) -> ActSets:
    cfg = load_config(config)
    written_src, real_src = cfg.train_sources
    acts_of = lambda exs: [e for e in exs if e.label != "other" and has_actor_spans(e)]  # noqa: E731
    real = acts_of(read_source(cfg, real_src, None))
    stories = sorted({e.meta["article"] for e in real})
    return ActSets(acts_of(read_source(cfg, written_src, None)), real, real_src,
                   acts_of(read_source(cfg, cfg.dev_file, None)),
                   acts_of(read_source(cfg, next(x for x in cfg.extra_eval_files if x.display_name == "written_dev"),
                                       None)),
                   {s: i % folds for i, s in enumerate(stories)})


def predict_actors(clf, fit, cache, examples, null_bias=None):
    """(source text, target text) per example, for its gold act, from cached features; ``null_bias``:
    the "no actor" bonus (default: the fitted head's)."""
    import torch

    key = tuple(fit.config.layers)
    out = []
    with torch.no_grad():
        for e in examples:
            feats, offsets = cache[(key, e.text)]
            out.append(decode_texts(e, fit.head(feats.float()[None])[0].numpy(), offsets, fit.config, null_bias))
    return out


def decode_texts(example, logits, offsets, config, null_bias=None) -> tuple[str | None, str | None]:
    """(source text, target text) of ``example`` for its gold act, from the head's token scores;
    ``null_bias``: the "no actor" bonus (default: ``config``'s)."""
    src, tgt = decode_actors(example.text, logits, offsets, config.acts.index(example.label),
                             max_tokens=config.max_tokens,
                             null_bias=config.null_bias if null_bias is None else null_bias)
    return src.text if src else None, tgt.text if tgt else None


def exact(examples, predicted) -> tuple[float, float]:
    """Source and target exact match (the scorer ``claimclf evaluate`` uses)."""
    m = score_actors(examples, predicted)
    return m["source"]["exact_match"], m["target"]["exact_match"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(HERE / "configs/default.yaml"))
    ap.add_argument("--model", default=str(HERE.parent / "models/default"))
    ap.add_argument("--extra", action="append", default=[], help="more span data (JSON Lines), repeatable")
    ap.add_argument("--extra-repeat", type=int, default=1)
    ap.add_argument("--seeds", type=int, nargs="+", default=[43, 44])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--null-bias", type=float, nargs="+", help="decode with each of these \"no actor\" bonuses "
                    "(same fitted heads); default: the model's")
    ap.add_argument("--output", help="write the table as JSON here")
    args = ap.parse_args(argv)

    sets = load_sets(args.config, args.folds)
    written, real, real_dev, written_dev, fold_of = (sets.written, sets.real, sets.real_dev, sets.written_dev,
                                                     sets.fold_of)
    real_src = sets.real_source
    extra = [e for f in args.extra for e in read_jsonl_examples(f) if e.label != "other" and has_actor_spans(e)]
    print(f"written train {len(written)}, real train {len(real)} ({len(set(fold_of))} stories), extra {len(extra)}, "
          f"real dev {len(real_dev)}, written dev {len(written_dev)} act sentences", file=sys.stderr)

    clf = ClaimClassifier.load(args.model, backend="torch")
    cache: dict = {}
    layers = clf.actor_config.layers if clf.actor_config else None
    encode_features(clf, [e.text for e in written + real + real_dev + written_dev + extra],
                    layers or [3, 6], cache=cache, progress=True)
    biases = args.null_bias or [None]
    results = {"extra": args.extra, "extra_repeat": args.extra_repeat, "seeds": args.seeds, "by_null_bias": {}}
    runs = {b: {"cv": [], "dev": []} for b in biases}
    for seed in args.seeds:
        held_gold, held_pred = [], {b: [] for b in biases}
        for k in range(args.folds):
            train = written + [e for e in real if fold_of[e.meta["article"]] != k] * real_src.repeat \
                + extra * args.extra_repeat
            fit = fit_actor_head(clf, train, seed=seed, layers=layers, cache=cache)
            held = [e for e in real if fold_of[e.meta["article"]] == k]
            held_gold += held
            for b in biases:
                held_pred[b] += predict_actors(clf, fit, cache, held, b)
        fit = fit_actor_head(clf, written + real * real_src.repeat + extra * args.extra_repeat, seed=seed,
                             layers=layers, cache=cache)
        for b in biases:
            src, tgt = exact(held_gold, held_pred[b])
            runs[b]["cv"].append({"seed": seed, "source": src, "target": tgt, "mean": (src + tgt) / 2})
            row = {"seed": seed}
            for name, exs in (("real_dev", real_dev), ("written_dev", written_dev)):
                s_, t_ = exact(exs, predict_actors(clf, fit, cache, exs, b))
                row[name] = {"source": s_, "target": t_, "mean": (s_ + t_) / 2}
            runs[b]["dev"].append(row)
            print(f"seed {seed}" + (f" null_bias {b}" if b is not None else "")
                  + f": real-train CV src {src:.3f} tgt {tgt:.3f} | real dev {row['real_dev']['source']:.3f} "
                  f"{row['real_dev']['target']:.3f} | written dev {row['written_dev']['source']:.3f} "
                  f"{row['written_dev']['target']:.3f}", flush=True)
    mean = lambda xs: statistics.fmean(xs)  # noqa: E731
    n_cv, n_dev = len(real), len(real_dev)
    for b, r in runs.items():
        summary = {"cv_mean": mean([x["mean"] for x in r["cv"]]),
                   "real_dev_mean": mean([x["real_dev"]["mean"] for x in r["dev"]]),
                   "written_dev_mean": mean([x["written_dev"]["mean"] for x in r["dev"]])}
        summary["real_pooled_mean"] = (summary["cv_mean"] * n_cv + summary["real_dev_mean"] * n_dev) / (n_cv + n_dev)
        results["by_null_bias"][str(b if b is not None else "model")] = {**r, "summary": summary}
        print(json.dumps({"null_bias": b, **{k: round(v, 4) for k, v in summary.items()}}))
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
