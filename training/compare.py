"""Compare the fine-tuned model with baselines on the same splits; update the model card.

    python training/compare.py --full models/default --lora runs/lora

(a) TF-IDF + logistic regression, (b) frozen MiniLM embeddings + logistic
regression, (c) full fine-tuning, (d) LoRA fine-tuning. Each is scored on
test.jsonl (per class), on the article test set through the whole predict path
(segmentation included), on the newest blind article set (written last, never
used for a decision), and on the seed article's gold file. Writes
comparison.md, thresholds.md and thresholds.png into the --full model folder,
adds "comparison" and "thresholds" to its metrics.json and rewrites its README.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SEED_GOLD = REPO / "seeds" / "000_807158935edd99d1.gold.jsonl"
# the newest blind article set: scored for every method, reported, never used to choose
BLIND_ARTICLES = REPO / "training" / "data" / "articles_fresh2.jsonl"
HELDOUT_NOTES = (
    "How much each article set flatters the model: `articles_test`, `articles_holdout` and `articles_blind` "
    "were used for error analysis or to choose between models; `articles_final`'s scores for an earlier model "
    "were read (its errors were not shown to the writers); `articles_fresh` was the previous model's honest "
    "number, and its kinds of error (not its sentences) were given to the writers of the last round's training "
    "articles; `articles_fresh2` was written last, blind, and has been scored for the previous model and for this "
    "one, never to choose (this model was chosen among seeds by dev alone) and never to write training data: the "
    "honest held-out number (see `training/data/README.md`).\n")


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and "onnx" not in p.parts) / 1e6


def eval_files(cfg) -> dict[str, Path]:
    """The held-out files every method is scored on."""
    return {"test": Path(cfg.path(cfg.test_file)), "articles": Path(cfg.path(cfg.articles_file)),
            "seed": SEED_GOLD, "blind": BLIND_ARTICLES}


def evaluate_all(clf, cfg) -> dict:
    """name -> EvalResult (metrics and rows) for each of :func:`eval_files`."""
    from claimclf.evaluate import evaluate

    return {name: evaluate(clf, path) for name, path in eval_files(cfg).items()}


def score_all(clf, cfg) -> dict:
    return {name: r.metrics for name, r in evaluate_all(clf, cfg).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=HERE / "configs" / "default.yaml")
    ap.add_argument("--full", default=REPO / "models" / "default", type=Path, help="full fine-tuned model folder")
    ap.add_argument("--lora", type=Path, help="LoRA fine-tuned model folder (merged)")
    args = ap.parse_args()

    from claimclf import ClaimClassifier
    from claimclf.baselines import FrozenEmbeddingBaseline, TfidfBaseline
    from claimclf.config import load_config
    from claimclf.evaluate import threshold_table
    from claimclf.modelcard import rewrite_model_card
    from claimclf.train import load_splits

    cfg = load_config(args.config)
    labels, train, dev, test = load_splits(cfg)
    results: dict[str, dict] = {}

    t = time.time()
    tfidf = TfidfBaseline(labels).fit(train, dev)
    results["tfidf_logreg"] = {"name": "(a) TF-IDF + logistic regression", **score_all(tfidf, cfg),
                               "fit_seconds": round(time.time() - t, 1), "size_mb": None, "C": tfidf.C}
    print("tfidf done", round(time.time() - t))
    t = time.time()
    frozen = FrozenEmbeddingBaseline(labels, cfg.base_model).fit(train, dev)
    results["frozen_minilm_logreg"] = {"name": "(b) frozen MiniLM embeddings + logistic regression",
                                       **score_all(frozen, cfg), "fit_seconds": round(time.time() - t, 1),
                                       "size_mb": None, "C": frozen.C}
    print("frozen done", round(time.time() - t))
    full = ClaimClassifier.load(args.full, backend="torch")
    full_metrics = json.loads((args.full / "metrics.json").read_text())
    full_evals = evaluate_all(full, cfg)  # kept: its rows and article scores are reused below
    results["full_finetune"] = {"name": "(c) full fine-tuning (shipped default)",
                                **{name: r.metrics for name, r in full_evals.items()}, "fit_seconds": full_metrics.get("train_seconds"), "size_mb": folder_mb(args.full)}
    if args.lora:
        lora = ClaimClassifier.load(args.lora, backend="torch")
        lora_metrics = json.loads((args.lora / "metrics.json").read_text())
        results["lora_finetune"] = {"name": "(d) LoRA fine-tuning (merged)", **score_all(lora, cfg),
                                    "fit_seconds": lora_metrics.get("train_seconds"),
                                    "size_mb": folder_mb(args.lora)}

    # every article set through the predict path, for the model card (reporting only); the
    # sets already scored above (the article test set, the blind set) are not scored again
    from claimclf.evaluate import evaluate

    scored = {path.resolve(): full_evals[name] for name, path in eval_files(cfg).items()}
    for f in sorted((REPO / "training" / "data").glob("articles_*.jsonl")):
        full_metrics["eval"][f.stem] = (scored.get(f.resolve()) or evaluate(full, f)).metrics
    full_metrics["eval"].pop("articles", None)  # same file as articles_test

    # error analysis of the shipped model on test: false alarms by kind of `other`, confusions by class
    write_error_analysis(full_evals["test"].rows, args.full / "errors_by_kind.md")

    # thresholds for the shipped model, on test
    probs = full.predict_proba([e.text for e in test])
    thresholds = threshold_table(probs, [e.label for e in test], list(labels),
                                 thresholds=(0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95))
    plot_thresholds(thresholds, args.full / "thresholds.png")

    (args.full / "heldout_notes.md").write_text(HELDOUT_NOTES, encoding="utf-8")
    write_comparison(results, args.full / "comparison.md", restarts=full_metrics.get("restarts"))
    write_thresholds(thresholds, args.full / "thresholds.md")
    full_metrics["comparison"] = results
    full_metrics["thresholds"] = thresholds
    (args.full / "metrics.json").write_text(json.dumps(full_metrics, indent=2) + "\n")
    rewrite_model_card(args.full)
    print((args.full / "comparison.md").read_text())


def plot_thresholds(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ts = [r["threshold"] for r in rows]
    ax.plot(ts, [r["act_precision"] for r in rows], "o-", label="act precision")
    ax.plot(ts, [r["act_recall"] for r in rows], "s-", label="act recall")
    ax.plot(ts, [r["false_alarm_rate"] for r in rows], "^-", label="false-alarm rate on 'other'")
    ax.set_xlabel("--threshold P (top act score below P -> other)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    ax.set_title("Precision/recall trade-off on test.jsonl")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_thresholds(rows, path: Path) -> None:
    lines = ["## Precision/recall trade-off (`--threshold`)", "",
             "Test split. A sentence whose best act score is below the threshold becomes `other`. "
             "\"Act\" precision/recall treat the four acts as one positive class.", "",
             "![thresholds](thresholds.png)", "",
             "| threshold | act precision | act recall | macro-F1 | false-alarm rate |", "|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['threshold']:.2f} | {r['act_precision']:.3f} | {r['act_recall']:.3f} | "
                     f"{r['macro_f1']:.3f} | {r['false_alarm_rate']:.3f} |")
    path.write_text("\n".join(lines) + "\n")


def write_error_analysis(rows, path: Path) -> None:
    from collections import Counter, defaultdict

    by_kind = defaultdict(lambda: [0, 0])
    for r in rows:
        if r["gold"] == "other":
            by_kind[r.get("kind", "?")][0] += 1
            by_kind[r.get("kind", "?")][1] += r["predicted"] != "other"
    worst = sorted(by_kind.items(), key=lambda kv: (-kv[1][1] / kv[1][0], -kv[1][0]))
    confusions = Counter((r["gold"], r["predicted"]) for r in rows if r["gold"] != r["predicted"])
    lines = ["## What it confuses", "",
             "Test split. Most frequent confusions (gold -> predicted):", "",
             "| gold | predicted | count |", "|---|---|---:|"]
    lines += [f"| {g} | {p} | {c} |" for (g, p), c in confusions.most_common(8)]
    lines += ["", "False alarms by kind of `other` sentence (the writer's `kind` tag; kinds with any false alarm):",
              "", "| kind | gold other | flagged | rate |", "|---|---:|---:|---:|"]
    for kind, (n, fa) in worst:
        if fa:
            lines.append(f"| {kind} | {n} | {fa} | {fa / n:.2f} |")
    clean = sum(1 for _, (n, fa) in by_kind.items() if not fa)
    lines += ["", f"{clean} of {len(by_kind)} kinds of `other` had no false alarm."]
    path.write_text("\n".join(lines) + "\n")


def write_comparison(results, path: Path, restarts=None) -> None:
    lines = ["## Baselines side by side", "",
             "Same splits for every method: trained on train.jsonl, C or checkpoint picked on dev.jsonl, scored on "
             "test.jsonl; the article set runs through the whole predict path (segmentation included); the seed is "
             "the project's first article; the blind set (`" + BLIND_ARTICLES.name + "`) is the newest article set, "
             "written blind and never used for a decision. False-alarm rate: share of gold `other` sentences "
             "flagged as an act."
             + (f" The full fine-tune is the best of {len(restarts)} seeds on dev (seeds "
                + ", ".join(str(r["seed"]) for r in restarts) + "); the other methods ran once." if restarts else ""),
             "",
             "| method | test macro-F1 | test acc. | test false-alarm | article acc. | article false-alarm | "
             "blind-set macro-F1 | blind-set false-alarm | seed acc. | size MB | train s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results.values():
        t, a, s, bl = r["test"], r["articles"], r["seed"], r["blind"]
        size = f"{r['size_mb']:.1f}" if r.get("size_mb") else "<1"
        lines.append(f"| {r['name']} | {t['macro_f1']:.3f} | {t['accuracy']:.3f} | {t['false_alarm_rate']:.3f} | "
                     f"{a['accuracy']:.3f} | {a['false_alarm_rate']:.3f} | {bl['macro_f1']:.3f} | "
                     f"{bl['false_alarm_rate']:.3f} | {s['accuracy']:.3f} | {size} | {r.get('fit_seconds') or ''} |")
    lines += ["", "Per-class F1 on test:", "", "| method | " + " | ".join(results[next(iter(results))]["test"]["labels"])
              + " |", "|---|" + "---:|" * len(results[next(iter(results))]["test"]["labels"])]
    for r in results.values():
        pc = r["test"]["per_class"]
        lines.append(f"| {r['name']} | " + " | ".join(f"{pc[k]['f1']:.3f}" for k in r["test"]["labels"]) + " |")
    # the choice: best test macro-F1 among the fine-tuned models that fit the 50 MB budget, then size
    tuned = {k: r for k, r in results.items() if r.get("size_mb") and r["size_mb"] <= 50}
    if tuned:
        best = max(tuned, key=lambda k: (round(tuned[k]["test"]["macro_f1"], 3), -tuned[k]["size_mb"]))
        b, tf = tuned[best], results.get("tfidf_logreg")
        lines += ["", (f"**Choice:** {b['name']} - the best test macro-F1 ({b['test']['macro_f1']:.3f}) among "
                       f"the fine-tuned models within the 50 MB budget ({b['size_mb']:.1f} MB).")]
        if tf:
            gap = 100 * (b["test"]["macro_f1"] - tf["test"]["macro_f1"])
            blind_gap = 100 * (b["blind"]["macro_f1"] - tf["blind"]["macro_f1"])
            lines.append(f"It is {gap:.1f} macro-F1 points above the TF-IDF baseline on test (target: 10), "
                         f"{blind_gap:.1f} on the blind article set.")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
