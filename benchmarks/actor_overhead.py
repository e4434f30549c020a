"""What the actor head costs: the same model's ONNX graph with and without it, in one process.

    python benchmarks/actor_overhead.py [--model models/default] [--n 1886] [--repeats 3]

Makes a copy of the model folder without its actor head, exports that copy's fp32 graph (the
graph `claimclf export-onnx` wrote before the head existed), then runs the same corpus
sentences (written dev + test) through
  1. the graph without the head (labels only),
  2. the model's own graph (labels + `actor_logits`, spans decoded, country codes),
alternating, best of ``--repeats``, and prints sentences/second and the ratio. With
``--int8``, the int8 copies are compared the same way (re-exported for the copy; slower).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(REPO / "models" / "default"))
    ap.add_argument("--n", type=int, default=1886)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from claimclf import ClaimClassifier
    from claimclf.model import available_cpus
    from claimclf.onnx_export import export_onnx

    model = Path(args.model)
    texts = [json.loads(x)["text"] for f in ("dev.jsonl", "test.jsonl")
             for x in (REPO / "training" / "data" / f).open(encoding="utf-8")][: args.n]
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain"
        shutil.copytree(model, plain)
        meta = json.loads((plain / "claimclf.json").read_text(encoding="utf-8"))
        if not meta.pop("actors", None):
            raise SystemExit(f"{model} has no actor head")
        (plain / "claimclf.json").write_text(json.dumps(meta), encoding="utf-8")
        (plain / "actors.safetensors").unlink()
        export_onnx(plain, quantize=False)
        threads = available_cpus()
        runs = {
            "without actor head": ClaimClassifier.load(plain, backend="onnx", onnx_file=plain / "onnx" / "model.onnx",
                                                       threads=threads),
            "with actor head": ClaimClassifier.load(model, backend="onnx", onnx_file=model / "onnx" / "model.onnx",
                                                    threads=threads),
        }
        assert runs["with actor head"].has_actors and not runs["without actor head"].has_actors
        best = dict.fromkeys(runs, float("inf"))
        labels = {}
        for _ in range(args.repeats):
            for name, clf in runs.items():
                t = time.perf_counter()
                preds = clf.predict(texts)
                best[name] = min(best[name], time.perf_counter() - t)
                labels[name] = [p.label for p in preds]
        same = sum(a == b for a, b in zip(labels["without actor head"], labels["with actor head"])) / len(texts)
        acts = sum(p != "other" for p in labels["with actor head"])
        print(f"{len(texts)} sentences ({acts} predicted as acts, whose actors are decoded), {threads} threads, "
              f"fp32 ONNX graphs, best of {args.repeats}")
        for name, seconds in best.items():
            print(f"  {name:<20} {len(texts) / seconds:7.1f} sentences/s")
        print(f"  ratio (with / without): {best['without actor head'] / best['with actor head']:.3f} of the speed; "
              f"identical labels: {same:.4f}")


if __name__ == "__main__":
    main()
