"""Throughput and memory: our inference paths against a transformers pipeline, in one process.

    python benchmarks/throughput.py [--model models/default] [--n 1568]

Runs the same corpus sentences (dev + test, >= 1,000) through
  1. transformers pipeline("text-classification", batch_size=32)  -- the baseline
  2. ClaimClassifier, torch backend (length-sorted dynamic batches)
  3. ClaimClassifier, ONNX Runtime fp32
  4. ClaimClassifier, ONNX Runtime int8 (when the model has one)
     (--dynamic-int8: also ONNX Runtime's dynamic int8, the default path before static int8;
     its activation scales follow the batch, so its scores do)
  5. ClaimClassifier, torch fp16 on the GPU (only where CUDA is available)
and prints sentences/second, the peak resident memory while each path ran,
the speed ratio against the pipeline, and the share of labels identical to it.
ONNX copies are made with `claimclf export-onnx` first if missing.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class PeakRSS:
    """Samples this process's resident memory every 5 ms while a block runs."""

    def __enter__(self):
        self.peak = self._rss()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self._rss())


def load_texts(n: int) -> list[str]:
    texts = []
    for split in ("test", "dev", "train"):
        for line in open(REPO / "training" / "data" / f"{split}.jsonl", encoding="utf-8"):
            texts.append(json.loads(line)["text"])
    return texts[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=REPO / "models" / "default", type=Path)
    ap.add_argument("--n", type=int, default=1568, help="sentences (default: dev + test)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--dynamic-int8", action="store_true",
                    help="also time a dynamic int8 copy (quantize_dynamic; needs claimclf[train])")
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from claimclf import ClaimClassifier
    from claimclf.model import available_cpus, find_onnx

    threads = available_cpus()
    torch.set_num_threads(threads)
    texts = load_texts(args.n)
    assert len(texts) >= 1000, "need at least 1,000 sentences"
    if find_onnx(args.model) is None:
        from claimclf.onnx_export import export_onnx

        export_onnx(args.model, quantize=True, check_file=REPO / "training" / "data" / "dev.jsonl")
    results = []

    def bench(name, run):
        gc.collect()
        run(texts[:64])  # warm-up
        with PeakRSS() as mem:
            t = time.perf_counter()
            labels = run(texts)
            dt = time.perf_counter() - t
        results.append({"path": name, "seconds": dt, "sent_per_s": len(texts) / dt, "peak_rss_mb": mem.peak / 2**20,
                        "labels": labels})
        print(f"  {name}: {len(texts) / dt:.1f} sent/s, peak RSS {mem.peak / 2**20:.0f} MB", flush=True)

    print(f"{len(texts)} sentences, {threads} CPU threads, batch size {args.batch_size}, model {args.model}")
    tok = AutoTokenizer.from_pretrained(str(args.model))
    hf = AutoModelForSequenceClassification.from_pretrained(str(args.model), dtype=torch.float32)
    pipe = pipeline("text-classification", model=hf, tokenizer=tok, device="cpu", batch_size=args.batch_size,
                    truncation=True, max_length=128)
    bench("transformers pipeline (baseline)", lambda xs: [r["label"] for r in pipe(xs)])
    pipe = hf = None  # free the baseline before measuring the next path
    clf = ClaimClassifier.load(args.model, backend="torch")
    # threshold=0.0: the top class, as the pipeline gives (the model's per-act thresholds are a
    # separate decision, the same on every path)
    bench("claimclf torch", lambda xs: [p.label for p in clf.predict(xs, batch_size=args.batch_size, threshold=0.0)])
    clf = None
    fp32 = args.model / "onnx" / "model.onnx"
    from claimclf.model import _onnx_session

    for name, path in (("claimclf onnx fp32", fp32), ("claimclf onnx int8", args.model / "onnx" / "model_quantized.onnx")):
        if not path.exists():
            continue
        clf = ClaimClassifier.load(args.model, backend="onnx")
        clf._onnx = _onnx_session(path, threads)
        clf._refine = None  # this graph alone
        bench(name, lambda xs, c=clf: [p.label for p in c.predict(xs, batch_size=args.batch_size, threshold=0.0)])
        clf = None
    if args.dynamic_int8:
        import tempfile

        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process

        from claimclf.onnx_export import _export

        with tempfile.TemporaryDirectory() as tmp:
            full, pre, dyn = (Path(tmp) / name for name in ("full.onnx", "pre.onnx", "dynamic.onnx"))
            _export(ClaimClassifier.load(args.model, backend="torch"), full, fold=True, opset=17)
            clf = ClaimClassifier.load(args.model, backend="onnx")
            quant_pre_process(str(full), str(pre), skip_symbolic_shape=True)
            quantize_dynamic(str(pre), str(dyn), weight_type=QuantType.QInt8)
            clf._onnx = _onnx_session(dyn, threads)
            clf._refine = None
            bench("claimclf onnx dynamic int8", lambda xs, c=clf: [p.label for p in c.predict(
                xs, batch_size=args.batch_size, threshold=0.0)])
            clf = None
    if torch.cuda.is_available():  # the GPU path (fp16), where a GPU exists; the ratio is still against the CPU pipeline
        gpu = ClaimClassifier.load(args.model, device="cuda")
        bench("claimclf torch cuda fp16",
              lambda xs: [p.label for p in gpu.predict(xs, batch_size=args.batch_size, threshold=0.0)])
        gpu = None
    default = ClaimClassifier.load(args.model)  # what `claimclf predict` uses
    default_name = f"claimclf default ({default.backend}"
    default_name += ", int8 + fp32)" if default._refine is not None else ", fp32)" if default.backend == "onnx" else ")"
    bench(default_name, lambda xs: [p.label for p in default.predict(xs, batch_size=args.batch_size, threshold=0.0)])
    from claimclf.model import cpu_has_int8_dot

    print(f"int8 dot-product instructions on this CPU: {cpu_has_int8_dot()} (auto uses int8 only where they are)")

    base = results[0]
    print()
    print(f"{'path':<34} {'sent/s':>8} {'x pipeline':>10} {'same labels':>12} {'peak RSS MB':>12}")
    for r in results:
        same = sum(a == b for a, b in zip(r["labels"], base["labels"])) / len(texts)
        r["ratio"] = r["sent_per_s"] / base["sent_per_s"]
        r["same_labels"] = same
        print(f"{r['path']:<34} {r['sent_per_s']:>8.1f} {r['ratio']:>9.2f}x {same:>11.2%} {r['peak_rss_mb']:>12.0f}")
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "labels"} for r in results], indent=2))


if __name__ == "__main__":
    main()
