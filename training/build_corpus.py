"""Assemble the labeled corpus from the writers' batches in training/raw/.

    python training/build_corpus.py

Validates every batch against the label set, drops exact and near duplicates
(word-trigram Jaccard >= 0.6 with names and numbers masked, see
claimclf.datacheck), assigns stable ids, and writes stratified 70/15/15 splits
to training/data/{train,dev,test}.jsonl; the sentences of the training articles
(batches articles_train_*) and the train-only batches (train_*) go to train only,
so adding them never changes dev and test. Deterministic for a seed.

Splits are fixed once made: a sentence already in training/data/{train,dev,test}.jsonl
keeps its split and its id (its label comes from the batch, so relabeling a batch
never moves a sentence between splits); only new sentences are assigned, and get new
ids after the last one. ``--fresh`` re-splits everything from the seed.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter, defaultdict
from pathlib import Path

from claimclf.data import example_to_record, read_examples, write_jsonl
from claimclf.datacheck import near_duplicate_pairs, normalize
from claimclf.labels import DEFAULT_LABELS

HERE = Path(__file__).parent
TRAIN_ONLY_PREFIX = ("articles_train", "train_")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", default=HERE / "raw", type=Path)
    ap.add_argument("--out", default=HERE / "data", type=Path)
    ap.add_argument("--seed", default=13, type=int)
    ap.add_argument("--near", default=0.6, type=float)
    ap.add_argument("--fresh", action="store_true", help="ignore the existing splits and ids")
    args = ap.parse_args()

    existing: dict[str, tuple[str, str]] = {}  # normalized text -> (split, id)
    if not args.fresh:
        for name in ("train", "dev", "test"):
            f = args.out / f"{name}.jsonl"
            if f.exists():
                for line in open(f, encoding="utf-8"):
                    rec = json.loads(line)
                    existing[normalize(rec["text"])] = (name, rec["id"])

    rows = []
    for f in sorted(args.raw.glob("*.jsonl")):
        for ex in read_examples(f, DEFAULT_LABELS):
            rows.append((f.stem, ex))
    print(f"read {len(rows)} sentences from {len(list(args.raw.glob('*.jsonl')))} batches")

    # held-out evaluation text (seed article, article test sets) never enters the corpus
    reserved = [json.loads(x)["text"] for x in open(HERE.parent / "seeds" / "000_807158935edd99d1.gold.jsonl")]
    for f in sorted((HERE / "data").glob("articles_*.jsonl")):
        reserved += [s["text"] for line in open(f, encoding="utf-8") for s in json.loads(line)["sentences"]]
    reserved_pairs = near_duplicate_pairs(reserved + [ex.text for _, ex in rows], args.near)
    clash = {j - len(reserved) for i, j, _ in reserved_pairs if i < len(reserved) <= j}
    clash |= {k for k, (_, ex) in enumerate(rows) if normalize(ex.text) in {normalize(t) for t in reserved}}
    rows = [r for k, r in enumerate(rows) if k not in clash]
    print(f"dropped {len(clash)} sentences that repeat held-out evaluation text")

    # exact duplicates (after normalisation): keep the first, reading train-only batches last
    # so a repeat in them never takes a sentence out of dev or test
    seen, kept = set(), []
    for batch, ex in sorted(rows, key=lambda r: r[0].startswith(TRAIN_ONLY_PREFIX)):
        key = normalize(ex.text)
        if key in seen:
            continue
        seen.add(key)
        kept.append((batch, ex))
    print(f"dropped {len(rows) - len(kept)} exact duplicates")

    # near duplicates / shared skeletons: drop one of each pair, the train-only one when
    # there is one (so adding train-only batches never changes dev and test), else the later one
    drop = set()
    for i, j, _ in near_duplicate_pairs([ex.text for _, ex in kept], args.near):
        if i in drop or j in drop:
            continue
        drop.add(i if kept[i][0].startswith(TRAIN_ONLY_PREFIX) and not kept[j][0].startswith(TRAIN_ONLY_PREFIX)
                 else j)
    kept = [r for k, r in enumerate(kept) if k not in drop]
    print(f"dropped {len(drop)} near duplicates")

    # stable ids, then a stratified split by primary label; sentences of the training
    # articles (batches articles_train_*) and the train-only batches (train_*) all go to train,
    # so no article straddles splits and dev/test stay as they were
    rng = random.Random(args.seed)
    splits = {"train": [], "dev": [], "test": []}
    fixed = {name: [] for name in splits}
    new = []
    for batch, ex in kept:
        key = normalize(ex.text)
        if key in existing:
            fixed[existing[key][0]].append((batch, ex, existing[key][1]))
        else:
            new.append((batch, ex))
    if existing:
        print(f"kept the split and id of {sum(map(len, fixed.values()))} sentences; {len(new)} new")
    train_only = [(b, ex) for b, ex in new if b.startswith(TRAIN_ONLY_PREFIX)]
    by_label = defaultdict(list)
    for batch, ex in new:
        if not batch.startswith(TRAIN_ONLY_PREFIX):
            by_label[ex.label].append((batch, ex))
    for label in sorted(by_label):
        items = by_label[label]
        rng.shuffle(items)
        n = len(items)
        n_dev = round(n * 0.15)
        n_test = round(n * 0.15)
        splits["test"] += items[:n_test]
        splits["dev"] += items[n_test : n_test + n_dev]
        splits["train"] += items[n_test + n_dev :]
    splits["train"] += train_only
    args.out.mkdir(parents=True, exist_ok=True)
    for name, items in splits.items():
        random.Random(f"{args.seed}-{name}").shuffle(items)
        numbers = [int(ident.rsplit("-", 1)[1]) for _, _, ident in fixed[name]]
        start = max(numbers) + 1 if numbers else 0
        rows = fixed[name] + [(batch, ex, f"{name}-{start + k:05d}") for k, (batch, ex) in enumerate(items)]
        rows.sort(key=lambda r: r[2])
        records = []
        for batch, ex, ident in rows:
            rec = example_to_record(ex)
            rec["id"] = ident
            rec["batch"] = batch
            records.append(rec)
        items = [(b, ex) for b, ex, _ in rows]
        write_jsonl(args.out / f"{name}.jsonl", records)
        c = Counter(ex.label for _, ex in items)
        print(f"{name}: {len(items)}  " + "  ".join(f"{lab}={c[lab]}" for lab in DEFAULT_LABELS))


if __name__ == "__main__":
    main()
