"""Batch inference over many articles: streaming, atomic output, resumable.

Inputs are read lazily and classified in chunks of sentences (length-sorted
batches inside each chunk); every chunk is written and flushed before the next
is read, so memory does not grow with the corpus. A file output is written to
``FILE.partial`` and renamed to ``FILE`` only when the run finishes; after an
interruption, ``resume=True`` keeps the complete records of ``FILE.partial`` and
continues after them, with none lost or duplicated.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .data import check_inputs, expand_inputs, iter_articles, iter_jsonl
from .errors import ClaimClfError, InputError

FORMATS = ("jsonl", "csv", "table")
FIELDS = ("id", "sentence", "start", "end", "text", "label", "score", "scores")


@dataclass(frozen=True)
class Unit:
    """One sentence to classify, with where it came from."""

    id: str
    sentence: int
    start: int
    end: int
    text: str


@dataclass
class PredictStats:
    articles: int = 0
    sentences: int = 0
    skipped: int = 0  # records kept from an interrupted run (resume)
    output: str | None = None


def iter_units(files: Sequence[Path], *, sentences: bool = False) -> Iterator[Unit]:
    """Every sentence of every input, in input order (deterministic, so resume can skip)."""
    if sentences:
        for path in files:
            for lineno, obj in iter_jsonl(path):
                text = obj["text"]
                ident = obj.get("id")
                ident = str(ident) if ident not in (None, "") else f"{path.stem}-{lineno}"
                yield Unit(ident, 0, 0, len(text), text)
        return
    from .segment import segment

    for article in iter_articles(files):
        for i, s in enumerate(segment(article.text)):
            yield Unit(article.id, i, s.start, s.end, s.text)


def record(unit: Unit, pred) -> dict[str, Any]:
    return {"id": unit.id, "sentence": unit.sentence, "start": unit.start, "end": unit.end, "text": unit.text,
            "label": pred.label, "score": pred.score, "scores": pred.scores}


# ------------------------------------------------------------------ writers


class Writer:
    def __init__(self, fh: IO[str], labels: Sequence[str]):
        self.fh = fh
        self.labels = list(labels)

    def header(self) -> None:
        pass

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        self.fh.flush()
        if self.fh not in (sys.stdout, sys.stderr):
            os.fsync(self.fh.fileno())


class JsonlWriter(Writer):
    def write(self, records):
        self.fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


class CsvWriter(Writer):
    """Flat CSV: one ``score_<label>`` column per label instead of the ``scores`` object."""

    def columns(self) -> list[str]:
        return [*FIELDS[:-1], *(f"score_{name}" for name in self.labels)]

    def header(self):
        csv.writer(self.fh).writerow(self.columns())

    def write(self, records):
        buf = io.StringIO()
        w = csv.writer(buf)
        for r in records:
            w.writerow([r[k] for k in FIELDS[:-1]] + [r["scores"].get(name, "") for name in self.labels])
        self.fh.write(buf.getvalue())


class TableWriter(Writer):
    """Aligned columns for people at a terminal."""

    def header(self):
        self.width = shutil.get_terminal_size((120, 20)).columns
        self.fh.write(f"{'id':<24} {'#':>3}  {'label':<19} {'score':>5}  text\n")
        self.fh.write("-" * min(self.width, 120) + "\n")

    def write(self, records):
        room = max(20, self.width - 58)
        for r in records:
            text = r["text"] if len(r["text"]) <= room else r["text"][: room - 1] + "…"
            ident = r["id"] if len(r["id"]) <= 24 else "…" + r["id"][-23:]
            self.fh.write(f"{ident:<24} {r['sentence']:>3}  {r['label']:<19} {r['score']:>5.2f}  {text}\n")


WRITERS = {"jsonl": JsonlWriter, "csv": CsvWriter, "table": TableWriter}


def count_complete_records(path: Path, fmt: str) -> int:
    """Records fully written to ``path``; a torn last line is cut off the file."""
    with open(path, "rb+") as fh:
        data = fh.read()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            fh.truncate(keep)
    text = data[:keep].decode("utf-8", errors="strict")
    if fmt == "jsonl":
        n = 0
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    json.loads(line)
                except json.JSONDecodeError:
                    raise InputError(path, "cannot resume: the partial output has a malformed line", i) from None
                n += 1
        return n
    rows = list(csv.reader(io.StringIO(text)))
    return max(0, len(rows) - 1)  # minus the header


# ------------------------------------------------------------------ the run


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def prepare_inputs(inputs: Sequence[str | Path], *, sentences: bool = False) -> tuple[list[Path], int]:
    """Expand folders and validate every input (no model needed); returns the files and record count."""
    files = expand_inputs(inputs)
    return files, check_inputs(files, sentences=sentences)


def run_predict(
    clf,
    inputs: Sequence[str | Path],
    *,
    output: str | Path | None = None,
    fmt: str = "jsonl",
    sentences: bool = False,
    threshold: float | None = None,
    batch_size: int = 32,
    chunk_size: int = 2048,
    resume: bool = False,
    progress: bool = False,
    engine: str = "local",
    stream: IO[str] | None = None,
    prepared: tuple[list[Path], int] | None = None,
) -> PredictStats:
    """Classify every sentence of ``inputs`` and write one record per sentence.

    ``output=None`` writes to ``stream`` (default stdout). ``engine="ray"`` runs the
    classification as a Ray Data job (``pip install claimclf[ray]``). ``prepared``:
    the result of :func:`prepare_inputs` when the caller has validated already.
    """
    if fmt not in FORMATS:
        raise ClaimClfError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ClaimClfError(f"--threshold must be between 0 and 1, got {threshold}")
    files, total_records = prepared or prepare_inputs(inputs, sentences=sentences)
    stats = PredictStats()
    out_path = Path(output) if output is not None else None
    if resume and out_path is None:
        raise ClaimClfError("--resume needs --output FILE")
    if resume and fmt == "table":
        raise ClaimClfError("--resume works with --format jsonl or csv")

    partial = out_path.with_name(out_path.name + ".partial") if out_path else None
    skip = 0
    if out_path is None:
        fh = stream or sys.stdout
    else:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        if resume and not partial.exists() and out_path.exists():
            stats.output = str(out_path)
            return stats  # that run had finished
        if resume and partial.exists():
            skip = count_complete_records(partial, fmt)
        fh = open(partial, "a" if skip else "w", encoding="utf-8", newline="")
    writer = WRITERS[fmt](fh, clf.labels)
    if not skip:
        writer.header()
    stats.skipped = skip

    from tqdm.auto import tqdm

    bar = tqdm(total=total_records, unit="article" if not sentences else "sent", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    try:
        units = iter_units(files, sentences=sentences)
        for _ in range(skip):  # written before the interruption: the order is deterministic
            unit = next(units, None)
            if unit is None:
                raise ClaimClfError(f"{partial}: holds more records than the inputs have sentences; "
                                    "it is not from these inputs (delete it to start again)")
            bar.update(1 if sentences or unit.sentence == 0 else 0)
        if engine == "ray":
            from .ray_engine import ray_records

            records = ray_records(clf, units, threshold=threshold, batch_size=batch_size)
        elif engine == "local":
            records = _local_records(clf, units, threshold=threshold, batch_size=batch_size, chunk_size=chunk_size)
        else:
            raise ClaimClfError(f"unknown engine '{engine}' (choose from local, ray)")
        for chunk in chunked(records, chunk_size):
            writer.write(chunk)
            writer.flush()
            stats.sentences += len(chunk)
            started = sum(1 for r in chunk if sentences or r["sentence"] == 0)
            stats.articles += started
            bar.update(started)
    finally:
        bar.close()
        if out_path is not None:
            fh.close()
    if out_path is not None:
        os.replace(partial, out_path)
        stats.output = str(out_path)
    return stats


def _local_records(clf, units: Iterable[Unit], *, threshold, batch_size: int, chunk_size: int):
    for chunk in chunked(units, chunk_size):
        preds = clf.predict([u.text for u in chunk], batch_size=batch_size, threshold=threshold)
        yield from (record(u, p) for u, p in zip(chunk, preds))
