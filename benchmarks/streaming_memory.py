"""Memory of `claimclf predict` as the input grows: it should not grow with the corpus.

    python benchmarks/streaming_memory.py [--model models/default] [--sizes 2000 20000]

Writes article files of N sentences (corpus sentences, 10 to an article, cycled), runs the
CLI on each in a child process (`claimclf predict FILE -o OUT.jsonl`, default backend), and
prints the child's peak resident memory, its sentences/second end to end (start-up,
segmentation and writing included), and the ratio of each peak to the smallest run's. The
output is checked: one JSON record per sentence.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def corpus_sentences() -> list[str]:
    """Corpus texts that the segmenter keeps as one sentence (so N in means N records out)."""
    from claimclf.segment import split_sentences

    texts = []
    for split in ("test", "dev", "train"):
        for line in open(REPO / "training" / "data" / f"{split}.jsonl", encoding="utf-8"):
            text = json.loads(line)["text"].strip()
            if "\n" not in text and split_sentences(text) == [text]:
                texts.append(text)
    return texts


def write_articles(path: Path, n_sentences: int, pool: list[str], per_article: int = 10) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for a in range(0, n_sentences, per_article):
            sents = [pool[(a + i) % len(pool)] for i in range(min(per_article, n_sentences - a))]
            fh.write(json.dumps({"id": f"a{a // per_article}", "text": "\n".join(sents)}) + "\n")


def run_cli(args: list[str]) -> tuple[float, int]:
    """Seconds and peak RSS (bytes) of one `claimclf` child process, from that child's own rusage."""
    t = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "claimclf.cli", *args],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t
    if child.returncode != 0:
        raise SystemExit(f"claimclf {' '.join(args)}: exit {child.returncode}")
    return seconds, usage.ru_maxrss * 1024  # Linux: kilobytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(REPO / "models" / "default"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000], help="sentences per run")
    args = ap.parse_args()
    sizes = sorted(args.sizes)
    pool = corpus_sentences()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            src, out = Path(tmp) / f"in{n}.jsonl", Path(tmp) / f"out{n}.jsonl"
            write_articles(src, n, pool)
            seconds, peak = run_cli(["predict", str(src), "--output", str(out), "--model", args.model, "--quiet"])
            with open(out, encoding="utf-8") as fh:
                n_out = sum(1 for line in fh if json.loads(line))
            assert n_out == n, f"{n_out} records for {n} sentences"
            rows.append((n, seconds, peak))
    base = rows[0][2]
    print(f"{'sentences':>10} {'seconds':>8} {'sent/s':>7} {'peak RSS MB':>12} {'x smallest':>11}")
    for n, seconds, peak in rows:
        print(f"{n:>10} {seconds:>8.1f} {n / seconds:>7.0f} {peak / 1e6:>12.0f} {peak / base:>10.2f}x")
    print(f"cpus: {len(os.sched_getaffinity(0))}")


if __name__ == "__main__":
    main()
