"""Segmentation time against line length: linear, not quadratic.

    python benchmarks/long_lines.py [--sizes 100000 1000000 5000000]

Builds one line of the given length from the seed article's sentences (no line breaks,
as a scraped feed that lost its paragraphs), segments it with claimclf.segment.segment and
prints seconds, microseconds per character, and the ratio to the smallest size's cost per
character (1.0 means linear); then, for lines over PARALLEL_LINE characters, the time with
``--processes`` processes (default: one per CPU, as `claimclf predict` uses) and whether the
sentences are the same. Before windowing, pysbd took 2.6 s for 100k characters,
8.8 s for 200k, and about two hours for 5 MB.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    ap.add_argument("--processes", type=int, default=None, help="default: one per CPU")
    args = ap.parse_args()
    from claimclf.model import available_cpus
    from claimclf.segment import PARALLEL_LINE, segment

    processes = args.processes or available_cpus()

    seed = " ".join((REPO / "seeds" / "000_807158935edd99d1.txt").read_text(encoding="utf-8").split())
    base = None
    print(f"{'characters':>12} {'sentences':>10} {'seconds':>9} {'us/char':>8} {'x linear':>9}   "
          f"{processes} processes: seconds, same sentences")
    for n in args.sizes:
        line = (seed + " ") * (n // (len(seed) + 1) + 1)
        line = line[:n]
        t = time.perf_counter()
        sents = segment(line)
        dt = time.perf_counter() - t
        per_char = dt / n * 1e6
        base = base or per_char
        assert all(line[s.start : s.end] == s.text for s in sents)
        extra = ""
        if n > PARALLEL_LINE and processes > 1:
            t = time.perf_counter()
            par = segment(line, processes=processes)
            extra = f"   {time.perf_counter() - t:>7.2f}  {par == sents}"
        print(f"{n:>12,} {len(sents):>10,} {dt:>9.2f} {per_char:>8.2f} {per_char / base:>9.2f}{extra}")


if __name__ == "__main__":
    main()
