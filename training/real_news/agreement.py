"""Inter-annotator agreement of the two blind passes over the real news stories.

    python training/real_news/agreement.py

Reads annotation/pass_a.jsonl and annotation/pass_b.jsonl (labels keyed by story and
sentence, spans as offsets into the sentence; no text) and prints Cohen's kappa on the
primary label, the confusion of the disagreements, and for the source and target spans of
sentences both passes gave the same act: exact match and character-overlap F1.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

HERE = Path(__file__).parent


def load(name: str) -> dict[tuple[str, int], dict]:
    rows = (json.loads(x) for x in open(HERE / "annotation" / name, encoding="utf-8"))
    return {(r["story"], r["sentence"]): r for r in rows}


def overlap_f1(a: dict | None, b: dict | None) -> float:
    if a is None or b is None:
        return float(a is None and b is None)
    inter = max(0, min(a["end"], b["end"]) - max(a["start"], b["start"]))
    if inter == 0:
        return 0.0
    p, r = inter / (b["end"] - b["start"]), inter / (a["end"] - a["start"])
    return 2 * p * r / (p + r)


def main() -> None:
    a, b = load("pass_a.jsonl"), load("pass_b.jsonl")
    assert a.keys() == b.keys(), "the passes cover different sentences"
    keys = sorted(a)
    la, lb = [a[k]["label"] for k in keys], [b[k]["label"] for k in keys]
    agree = sum(x == y for x, y in zip(la, lb))
    print(f"sentences: {len(keys)}; primary label: agreement {agree / len(keys):.3f} ({len(keys) - agree} differ), "
          f"Cohen's kappa {cohen_kappa_score(la, lb):.3f}")
    for (x, y), n in Counter((x, y) for x, y in zip(la, lb) if x != y).most_common():
        print(f"  pass A {x:<20} pass B {y:<20} {n}")
    both = [k for k in keys if a[k]["label"] == b[k]["label"] != "other"]
    for role in ("source", "target"):
        exact = sum(a[k].get(role) == b[k].get(role) for k in both)
        f1 = sum(overlap_f1(a[k].get(role), b[k].get(role)) for k in both) / len(both)
        print(f"{role}: {len(both)} act sentences labeled alike by both passes: exact match {exact / len(both):.3f}, "
              f"overlap F1 {f1:.3f}")


if __name__ == "__main__":
    main()
