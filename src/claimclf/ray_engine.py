"""Scale-out: the same classification as a Ray Data job (``pip install claimclf[ray]``).

Sentences go through ``Dataset.map_batches`` with the classifier held by an actor
class, so each worker loads the model once. The order of the records is kept, so
the output equals the single-process output. Set ``RAY_ADDRESS`` (or run inside a
Ray job) to use a cluster; without it a local Ray instance is started.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any

from .errors import ClaimClfError

WINDOW = 50_000  # sentences handed to Ray at a time: bounds the driver's memory


class _Predictor:
    """Ray actor: holds one classifier, classifies batches of sentences."""

    def __init__(self, model_path: str, backend: str, threshold: float | None, batch_size: int, threads: int,
                 onnx_file: str | None = None):
        from claimclf.model import ClaimClassifier

        # the driver's graph (int8 or fp32, as auto chose there), so workers score alike
        self.clf = ClaimClassifier.load(model_path, backend=backend, threads=threads, onnx_file=onnx_file)
        self.threshold = threshold
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        preds = self.clf.predict(list(batch["text"]), batch_size=self.batch_size, threshold=self.threshold)
        batch["label"] = [p.label for p in preds]
        batch["score"] = [p.score for p in preds]
        batch["from_threshold"] = [p.from_threshold for p in preds]
        batch["scores"] = [json.dumps(p.scores) for p in preds]
        batch["actors"] = [json.dumps([None if x is None else x.as_dict() for x in (p.source, p.target)]) for p in preds]
        return batch


def ray_records(clf, units: Iterable, *, threshold: float | None, batch_size: int,
                actors: int | None = None, threads_per_actor: int = 1) -> Iterator[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise ClaimClfError("--engine ray needs Ray: pip install 'claimclf[ray]'") from None
    if clf.path is None:
        raise ClaimClfError("--engine ray needs a model saved on disk (ClaimClassifier.load(path))")
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    if actors is None:
        actors = max(1, int(ray.cluster_resources().get("CPU", 1)) // threads_per_actor)
    from .predict import chunked

    for window in chunked(units, WINDOW):
        ds = ray.data.from_items([asdict(u) for u in window])
        ds = ds.map_batches(
            _Predictor,
            fn_constructor_kwargs={"model_path": str(clf.path), "backend": clf.backend, "threshold": threshold,
                                   "batch_size": batch_size, "threads": threads_per_actor,
                                   "onnx_file": str(clf.onnx_file) if clf.onnx_file else None},
            batch_size=max(batch_size, 256),
            concurrency=(1, actors),
            num_cpus=threads_per_actor,
            batch_format="numpy",
        )
        for row in ds.iter_rows():
            yield {"id": str(row["id"]), "sentence": int(row["sentence"]), "start": int(row["start"]),
                   "end": int(row["end"]), "text": str(row["text"]), "label": str(row["label"]),
                   "score": float(row["score"]), "from_threshold": bool(row["from_threshold"]),
                   "scores": json.loads(row["scores"]), **dict(zip(("source", "target"), json.loads(row["actors"])))}
