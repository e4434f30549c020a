"""Batch inference over many articles: streaming, atomic output, resumable.

Inputs are read lazily and classified in chunks of sentences (length-sorted
batches inside each chunk); every chunk is written and flushed before the next
is read, so memory does not grow with the corpus. A file output is written to
``FILE.partial`` and renamed to ``FILE`` only when the run finishes.

``FILE.partial.json`` records what the partial output is a run of (the inputs with
their sizes and content hashes, the model, the options, the format, the claimclf
version). ``resume=True`` continues an interrupted run only when all of that is the
same and every kept record is the record these inputs give at that place; it cuts a
record torn by a kill at the format's own record boundary (a JSON line, a CSV record
whose quoted fields may hold newlines) and never truncates a file it refuses.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import stat
import sys
import textwrap
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from . import __version__
from .data import InputFile, check_inputs, expand_inputs, iter_articles, iter_jsonl, _id_field, _text_field
from .errors import ClaimClfError

FORMATS = ("jsonl", "csv", "table")
FIELDS = ("id", "sentence", "start", "end", "text", "label", "score", "from_threshold", "scores", "source", "target")
#: CSV: the flat columns before the ``score_<label>`` columns (actors as text and country code)
CSV_FIELDS = ("id", "sentence", "start", "end", "text", "label", "score", "from_threshold",
              "source", "target", "source_country", "target_country")
MANIFEST_SUFFIX = ".json"  # FILE.partial.json


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
    complete_already: bool = False  # resume found the finished output of these inputs


def iter_units(files: Sequence[InputFile | Path], *, sentences: bool = False,
               segment_processes: int = 1) -> Iterator[Unit]:
    """Every sentence of every input, in input order (deterministic, so resume can skip)."""
    if sentences:
        for item in files:
            path = item.path if isinstance(item, InputFile) else Path(item)
            for lineno, obj in iter_jsonl(path):
                text = _text_field(path, lineno, obj)
                yield Unit(_id_field(path, lineno, obj, f"{path.stem}-{lineno}"), 0, 0, len(text), text)
        return
    from .segment import segment

    for article in iter_articles(files):
        for i, s in enumerate(segment(article.text, processes=segment_processes)):
            yield Unit(article.id, i, s.start, s.end, s.text)


def _actor(actor) -> dict[str, Any] | None:
    return None if actor is None else actor.as_dict()


def record(unit: Unit, pred) -> dict[str, Any]:
    """One output record: the sentence, its label and scores, and the act's ``source`` and ``target``
    (null, or ``{"text", "start", "end", "country"}`` with offsets into ``text``)."""
    return {"id": unit.id, "sentence": unit.sentence, "start": unit.start, "end": unit.end, "text": unit.text,
            "label": pred.label, "score": pred.score, "from_threshold": pred.from_threshold, "scores": pred.scores,
            "source": _actor(getattr(pred, "source", None)), "target": _actor(getattr(pred, "target", None))}


# ------------------------------------------------------------------ writers


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A text cell safe to open in a spreadsheet: one that starts like a formula (``=``, ``+``,
    ``-``, ``@``, tab, carriage return) gets a leading apostrophe (OWASP's CSV-injection advice)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def printable(text: str) -> str:
    """``text`` with control and format characters (escape sequences, bidi overrides, line
    breaks) shown as spaces or ``\\x..`` escapes, so nothing in an input can drive the terminal."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\r\t\u2028\u2029\x85":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


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
            try:
                os.fsync(self.fh.fileno())
            except (OSError, io.UnsupportedOperation):
                pass


class JsonlWriter(Writer):
    def write(self, records):
        self.fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


class CsvWriter(Writer):
    """Flat CSV: the actors as ``source``/``target`` text and ``source_country``/``target_country``
    columns, one ``score_<label>`` column per label instead of the ``scores`` object; text cells
    that start like a spreadsheet formula are escaped (:func:`csv_cell`)."""

    def columns(self) -> list[str]:
        return [*CSV_FIELDS, *(f"score_{name}" for name in self.labels)]

    def header(self):
        csv.writer(self.fh).writerow(self.columns())

    def row(self, r: dict[str, Any]) -> list[Any]:
        src, tgt = r.get("source") or {}, r.get("target") or {}
        return ([csv_cell(r["id"]), r["sentence"], r["start"], r["end"], csv_cell(r["text"]), r["label"], r["score"],
                 r["from_threshold"], csv_cell(src.get("text") or ""), csv_cell(tgt.get("text") or ""),
                 src.get("country") or "", tgt.get("country") or ""]
                + [r["scores"].get(name, "") for name in self.labels])

    def write(self, records):
        buf = io.StringIO()
        w = csv.writer(buf)
        for r in records:
            w.writerow(self.row(r))
        self.fh.write(buf.getvalue())


class TableWriter(Writer):
    """For people at a terminal: the label, how sure the model is, and the whole sentence,
    wrapped to the terminal's width; control characters never reach the terminal."""

    def header(self):
        self.width = max(60, shutil.get_terminal_size((120, 20)).columns)
        self.fh.write(f"{'id':<24} {'#':>3}  {'label':<27} {'score':>6}  text\n")
        self.fh.write("-" * min(self.width, 120) + "\n")

    @staticmethod
    def shown(r: dict[str, Any]) -> tuple[str, str]:
        """The label and score a person reads: for a sentence turned ``other`` by a threshold, the act
        the model ranked first and its score, starred ("below its threshold")."""
        label, s, star = r["label"], r["score"], " "
        if r.get("from_threshold"):
            act = max((k for k in r["scores"] if k != r["label"]), key=r["scores"].get)
            label, s, star = f"other ({act})", r["scores"][act], "*"
        return label, (">0.999" if s > 0.999 else f"{s:.3f}") + star

    @staticmethod
    def actors(r: dict[str, Any]) -> str:
        """``source → target`` for an act whose model found either ("—" for a role not named)."""
        if not (r.get("source") or r.get("target")):
            return ""

        def show(a):
            if not a:
                return "—"
            return a["text"] + (f" [{a['country']}]" if a.get("country") else "")

        return f"» {show(r.get('source'))} → {show(r.get('target'))}"

    def write(self, records):
        indent = 24 + 1 + 3 + 2 + 27 + 1 + 7 + 2
        room = max(20, self.width - indent)
        for r in records:
            ident = printable(r["id"])
            ident = ident if len(ident) <= 24 else "…" + ident[-23:]
            lines = textwrap.wrap(printable(r["text"]), room, break_long_words=True) or [""]
            label, score = self.shown(r)
            self.fh.write(f"{ident:<24} {r['sentence']:>3}  {label:<27} {score:>7}  {lines[0]}\n")
            for line in lines[1:]:
                self.fh.write(" " * indent + line + "\n")
            who = self.actors(r)
            if who:
                for line in textwrap.wrap(printable(who), room, break_long_words=True):
                    self.fh.write(" " * indent + line + "\n")


WRITERS = {"jsonl": JsonlWriter, "csv": CsvWriter, "table": TableWriter}


# ------------------------------------------------------------------ output and resume


def check_output(output: str | Path, inputs: Sequence[InputFile | Path]) -> Path:
    """Refuse an output that would destroy data or cannot be written, before any work is done:
    an output that is one of the inputs, an existing path that is not a regular file (a folder,
    a device such as /dev/null, a symbolic link), or a place that cannot be written."""
    out = Path(output)
    for candidate in (out, out.with_name(out.name + ".partial")):
        try:
            st = candidate.lstat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ClaimClfError(f"{candidate}: cannot use as output ({exc.strerror or exc})") from None
        if stat.S_ISLNK(st.st_mode):
            raise ClaimClfError(f"{candidate}: is a symbolic link; --output must be a regular file or a new path")
        if stat.S_ISDIR(st.st_mode):
            raise ClaimClfError(f"{candidate}: is a folder; --output must be a file")
        if not stat.S_ISREG(st.st_mode):
            raise ClaimClfError(f"{candidate}: is not a regular file (a device or pipe); --output must be a "
                                "regular file or a new path")
    resolved = out.resolve()
    for item in inputs:
        path = item.path if isinstance(item, InputFile) else Path(item)
        if path.resolve() == resolved:
            raise ClaimClfError(f"{out}: is also an input; writing to it would destroy it (choose another --output)")
    parent = out.parent if str(out.parent) else Path(".")
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ClaimClfError(f"{out}: cannot be created ({existing} is not a folder)")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = parent / f".{out.name}.claimclf-probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ClaimClfError(f"{out}: cannot write there ({exc.strerror or exc})") from None
    return out


def _file_fingerprint(path: Path, full: bool = True) -> dict[str, Any]:
    h = hashlib.sha256()
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if full or size <= 4 << 20:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        else:  # model weights: size + head + tail is enough to tell two models apart
            h.update(fh.read(1 << 20))
            fh.seek(-(1 << 20), os.SEEK_END)
            h.update(fh.read(1 << 20))
    return {"size": size, "sha256": h.hexdigest()}


def model_fingerprint(clf) -> dict[str, Any]:
    """What identifies the model's scores: its files (configs in full, weights by size, head and tail)."""
    if clf.path is None:
        return {"path": None}
    files = {}
    for name in ("config.json", "claimclf.json", "tokenizer.json", "model.safetensors", "onnx/model.onnx",
                 "onnx/model_quantized.onnx"):
        p = clf.path / name
        if p.is_file():
            files[name] = _file_fingerprint(p, full=not name.endswith((".safetensors", ".onnx")))["sha256"]
    return {"backend": clf.backend, "files": files}


def run_manifest(clf, files: Sequence[InputFile], *, fmt: str, sentences: bool, threshold: float | None) -> dict:
    return {
        "claimclf": __version__,
        "format": fmt,
        "sentences": sentences,
        "threshold": threshold,
        "thresholds": dict(clf.thresholds),
        "max_length": clf.max_length,
        "model": model_fingerprint(clf),
        "inputs": [{"path": str(f.path.resolve()), "id": f.doc_id, **_file_fingerprint(f.path)} for f in files],
    }


def _manifest_path(partial: Path) -> Path:
    return partial.with_name(partial.name + MANIFEST_SUFFIX)


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    names = {"inputs": "the inputs", "model": "the model", "format": "the format", "threshold": "--threshold",
             "thresholds": "the model's thresholds", "sentences": "--sentences", "max_length": "--max-length",
             "claimclf": "the claimclf version"}
    return [names.get(k, k) for k in new if old.get(k) != new[k]]


def _complete_records(path: Path, fmt: str, n_columns: int) -> tuple[list[list[Any]], int]:
    """Parse ``path`` record by record without changing it: the complete records (as field lists)
    and the byte length they span. A last record without its line end (torn by a kill) is not
    counted; any other unreadable record raises :class:`ClaimClfError`."""
    data = path.read_bytes()
    last_nl = data.rfind(b"\n") + 1
    try:
        text = data[:last_nl].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClaimClfError(f"{path}: cannot resume: not UTF-8 at byte {exc.start} (not claimclf output; delete "
                            "it to start again)") from None
    records: list[list[Any]] = []
    if fmt == "jsonl":
        for i, line in enumerate(text.split("\n")[:-1], 1):  # split on \n only: U+2028 stays inside records
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):
                raise ClaimClfError(f"{path}:{i}: cannot resume: not a JSON record (not claimclf output; "
                                    "delete it to start again)") from None
            if not isinstance(obj, dict) or not all(k in obj for k in FIELDS):
                raise ClaimClfError(f"{path}:{i}: cannot resume: not a claimclf record (delete it to start again)")
            records.append([obj[k] for k in ("id", "sentence", "start", "end", "text")])
        return records, len(text.encode("utf-8"))
    # CSV: records end at a line end outside quotes; a quoted text may hold newlines
    lines = text.split("\n")[:-1]
    consumed = 0
    boundary = 0

    def feed():
        nonlocal consumed
        for line in lines:
            consumed += len(line) + 1
            yield line + "\n"

    reader = csv.reader(feed(), strict=True)
    try:
        header = next(reader, None)
        boundary = consumed
        if header is None:
            return [], 0
        if len(header) != n_columns or header[:len(CSV_FIELDS)] != list(CSV_FIELDS):
            raise ClaimClfError(f"{path}:1: cannot resume: not a claimclf CSV header (delete it to start again)")
        for row in reader:
            if len(row) != n_columns:
                raise ClaimClfError(f"{path}:{reader.line_num}: cannot resume: a record has {len(row)} fields, "
                                    f"not {n_columns} (delete it to start again)")
            records.append(row[:5])
            boundary = consumed
    except csv.Error:
        if consumed < len(text):  # not at the end: the file is corrupt, not torn
            raise ClaimClfError(f"{path}:{reader.line_num}: cannot resume: malformed CSV (delete it to start "
                                "again)") from None
        # an open quote running to the end: a record torn by a kill, cut at the last boundary
    return records, len(text[:boundary].encode("utf-8"))


def _same_record(rec: list[Any], unit: Unit, fmt: str) -> bool:
    if fmt == "jsonl":
        return rec == [unit.id, unit.sentence, unit.start, unit.end, unit.text]
    return rec == [csv_cell(unit.id), str(unit.sentence), str(unit.start), str(unit.end), csv_cell(unit.text)]


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def prepare_inputs(inputs: Sequence[str | Path], *, sentences: bool = False) -> tuple[list[InputFile], int]:
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
    prepared: tuple[list[InputFile], int] | None = None,
    segment_processes: int = 1,
) -> PredictStats:
    """Classify every sentence of ``inputs`` and write one record per sentence.

    ``output=None`` writes to ``stream`` (default stdout). ``engine="ray"`` runs the
    classification as a Ray Data job (``pip install claimclf[ray]``). ``prepared``:
    the result of :func:`prepare_inputs` when the caller has validated already.
    ``segment_processes``: processes for segmenting a huge line (see :func:`claimclf.segment.segment`).
    """
    if fmt not in FORMATS:
        raise ClaimClfError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    from .model import check_positive_int, check_threshold

    check_threshold(threshold)
    check_positive_int("batch_size", batch_size)
    check_positive_int("chunk_size", chunk_size)
    if engine not in ("local", "ray"):
        raise ClaimClfError(f"unknown engine '{engine}' (choose from local, ray)")
    files, total_records = prepared or prepare_inputs(inputs, sentences=sentences)
    stats = PredictStats()
    out_path = check_output(output, files) if output is not None else None
    if resume and out_path is None:
        raise ClaimClfError("--resume needs --output FILE")
    if resume and fmt == "table":
        raise ClaimClfError("--resume works with --format jsonl or csv")

    partial = out_path.with_name(out_path.name + ".partial") if out_path else None
    manifest = run_manifest(clf, files, fmt=fmt, sentences=sentences, threshold=threshold) if out_path else None
    n_columns = len(CsvWriter(io.StringIO(), clf.labels).columns())
    kept: list[list[Any]] = []
    keep_bytes = 0
    if out_path is not None and resume:
        if partial.exists():
            mpath = _manifest_path(partial)
            try:
                old = json.loads(mpath.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise ClaimClfError(f"{partial}: cannot resume: no record of the run that wrote it ({mpath.name} is "
                                    "missing or unreadable); delete it to start again") from None
            diff = _differences(old, manifest)
            if diff:
                raise ClaimClfError(f"{partial}: cannot resume: not the same run (changed: {', '.join(diff)}); "
                                    "delete it or drop --resume to start again")
            kept, keep_bytes = _complete_records(partial, fmt, n_columns)
        elif out_path.exists():
            done, _ = _complete_records(out_path, fmt, n_columns)
            units = iter_units(files, sentences=sentences, segment_processes=segment_processes)
            if all(_same_record(r, next(units, None) or Unit("", -1, -1, -1, ""), fmt) for r in done) and \
                    next(units, None) is None:
                stats.output, stats.complete_already = str(out_path), True
                return stats  # that run had finished: its records are these inputs' sentences
            raise ClaimClfError(f"{out_path}: cannot resume: it exists and is not the finished output of these "
                                "inputs; remove it or drop --resume")

    from tqdm.auto import tqdm

    bar = tqdm(total=total_records, unit="article" if not sentences else "sent", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    units = iter_units(files, sentences=sentences, segment_processes=segment_processes)
    try:
        for i, rec in enumerate(kept):  # written before the interruption: check each is this run's record
            unit = next(units, None)
            if unit is None or not _same_record(rec, unit, fmt):
                raise ClaimClfError(f"{partial}: cannot resume: record {i + 1} is not the sentence these inputs "
                                    "give there (delete it to start again)")
            bar.update(1 if sentences or unit.sentence == 0 else 0)
        if out_path is None:
            fh = stream or sys.stdout
        else:
            if kept or keep_bytes:
                with open(partial, "r+b") as raw:  # validated: now cut a torn last record, if any
                    raw.truncate(keep_bytes)
                fh = open(partial, "a", encoding="utf-8", newline="")
            else:
                mpath = _manifest_path(partial)
                tmp = mpath.with_name(mpath.name + ".tmp")
                tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
                os.replace(tmp, mpath)
                fh = open(partial, "w", encoding="utf-8", newline="")
        stats.skipped = len(kept)
        writer = WRITERS[fmt](fh, clf.labels)
        try:
            if not keep_bytes:
                writer.header()
            if engine == "ray":
                from .ray_engine import ray_records

                records = ray_records(clf, units, threshold=threshold, batch_size=batch_size)
            else:
                records = _local_records(clf, units, threshold=threshold, batch_size=batch_size,
                                         chunk_size=chunk_size)
            for chunk in chunked(records, chunk_size):
                writer.write(chunk)
                writer.flush()
                stats.sentences += len(chunk)
                started = sum(1 for r in chunk if sentences or r["sentence"] == 0)
                stats.articles += started
                bar.update(started)
        finally:
            if out_path is not None:
                fh.close()
    finally:
        bar.close()
    if out_path is not None:
        os.replace(partial, out_path)
        _manifest_path(partial).unlink(missing_ok=True)
        stats.output = str(out_path)
    return stats


def _local_records(clf, units: Iterable[Unit], *, threshold, batch_size: int, chunk_size: int):
    for chunk in chunked(units, chunk_size):
        preds = clf.predict([u.text for u in chunk], batch_size=batch_size, threshold=threshold)
        yield from (record(u, p) for u, p in zip(chunk, preds))
