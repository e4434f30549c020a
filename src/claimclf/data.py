"""Data I/O and validation: labeled corpora, articles to classify, sentence files.

Every reader validates as it goes and raises :class:`~claimclf.errors.InputError`
naming the file and line, so the CLI can print one line and exit non-zero.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError

HF_PREFIX = "hf:"


@dataclass(frozen=True)
class Example:
    """One labeled sentence."""

    id: str
    text: str
    label: str
    labels: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def all_labels(self) -> tuple[str, ...]:
        """Every label that applies, primary first."""
        return self.labels or (self.label,)


@dataclass(frozen=True)
class Article:
    """One article (or one pre-split sentence) to classify."""

    id: str
    text: str
    source: str
    line: int | None = None


# ---------------------------------------------------------------- JSON Lines


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line; stream, never load all.

    Raises InputError on undecodable bytes, malformed JSON or a non-object line.
    """
    path = Path(path)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from None
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(path, f"not valid UTF-8 ({exc.reason} at byte {exc.start})", lineno) from None
            if lineno == 1:
                line = line.lstrip("\ufeff")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(path, f"malformed JSON ({exc.msg}, column {exc.colno})", lineno) from None
            except ValueError as exc:  # e.g. an integer of more than 4,300 digits
                raise InputError(path, f"malformed JSON ({str(exc).split(';')[0]})", lineno) from None
            except RecursionError:
                raise InputError(path, "malformed JSON (nested too deeply)", lineno) from None
            if not isinstance(obj, dict):
                raise InputError(path, f"expected a JSON object, got {type(obj).__name__}", lineno)
            yield lineno, obj


def _text_field(path: Path | str, lineno: int | None, obj: dict[str, Any], key: str = "text") -> str:
    if key not in obj or obj[key] is None:
        raise InputError(path, f"missing '{key}'", lineno)
    text = obj[key]
    if not isinstance(text, str):
        raise InputError(path, f"'{key}' must be a string, got {type(text).__name__}", lineno)
    if not text.strip():
        raise InputError(path, f"empty '{key}'", lineno)
    _check_unicode(path, lineno, text, key)
    return text


def _check_unicode(path: Path | str, lineno: int | None, value: str, key: str) -> None:
    """JSON can escape lone surrogates (``"\\ud800"``), which are not text: refuse them up front."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(path, f"'{key}' holds an unpaired surrogate (\\u{ord(value[exc.start]):04x}), "
                               "which is not valid Unicode", lineno) from None


def _id_field(path: Path | str, lineno: int | None, obj: dict[str, Any], default: str) -> str:
    value = obj.get("id")
    if value is None or value == "":
        return default
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InputError(path, f"'id' must be a string or an integer, got {type(value).__name__}", lineno)
    value = str(value)
    _check_unicode(path, lineno, value, "id")
    return value


# ---------------------------------------------------------------- labeled corpora


def _example_from_record(
    path: Path | str,
    lineno: int | None,
    obj: dict[str, Any],
    allowed: Sequence[str] | None,
    default_id: str,
) -> Example:
    text = _text_field(path, lineno, obj)
    label = obj.get("label")
    if label is None or label == "":
        raise InputError(path, "missing 'label'", lineno)
    if not isinstance(label, str):
        raise InputError(path, f"'label' must be a string, got {type(label).__name__}", lineno)
    label = label.strip()
    extra = obj.get("labels")
    labels: tuple[str, ...] = ()
    if extra not in (None, "", []):
        if isinstance(extra, str):  # CSV: "a;b" or "a|b"
            extra = [x for x in extra.replace("|", ";").split(";") if x.strip()]
        if not isinstance(extra, list) or not all(isinstance(x, str) for x in extra):
            raise InputError(path, "'labels' must be a list of strings", lineno)
        labels = tuple(x.strip() for x in extra)
        if labels[0] != label:
            if label in labels:
                raise InputError(path, f"'labels' must list the primary label '{label}' first", lineno)
            labels = (label, *labels)
        if len(set(labels)) != len(labels):
            raise InputError(path, "'labels' repeats a label", lineno)
        if len(labels) == 1:
            labels = ()
    if allowed is not None:
        for name in (label, *labels):
            if name not in allowed:
                raise InputError(path, f"unknown label '{name}' (known: {', '.join(allowed)})", lineno)
    meta = {k: v for k, v in obj.items() if k not in {"id", "text", "label", "labels"}}
    for role in ("source", "target"):
        if role in meta:
            _check_actor(path, lineno, text, role, meta[role])
    return Example(_id_field(path, lineno, obj, default_id), text, label, labels, meta)


def _check_actor(path: Path | str, lineno: int | None, text: str, role: str, span: Any) -> None:
    """A gold actor: null, or ``{"start", "end"[, "text"][, "country"]}`` inside the sentence, its
    ``text`` equal to ``text[start:end]``, its ``country`` null or an ISO alpha-3 code."""
    if span is None:
        return
    if not isinstance(span, dict) or not {"start", "end"} <= set(span) or set(span) - {"start", "end", "text",
                                                                                       "country"}:
        raise InputError(path, f"'{role}' must be null or {{\"text\", \"start\", \"end\"[, \"country\"]}}", lineno)
    start, end = span["start"], span["end"]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)) or not 0 <= start < end <= len(text):
        raise InputError(path, f"'{role}' span {start!r}:{end!r} is not inside the sentence (length {len(text)})",
                         lineno)
    if "text" in span and span["text"] != text[start:end]:
        raise InputError(path, f"'{role}' text {span['text']!r} is not the sentence's characters {start}:{end} "
                         f"({text[start:end]!r})", lineno)
    country = span.get("country")
    if country is not None and not (isinstance(country, str) and len(country) == 3 and country.isascii()
                                    and country.isupper()):
        raise InputError(path, f"'{role}' country must be null or an ISO 3166-1 alpha-3 code, got {country!r}", lineno)


def _check_unique_ids(path: Path | str, rows: Iterable[tuple[int | None, Example]]) -> list[Example]:
    seen: dict[str, int | None] = {}
    out = []
    for lineno, ex in rows:
        if ex.id in seen:
            first = seen[ex.id]
            where = f" (first on line {first})" if first is not None else ""
            raise InputError(path, f"duplicate id '{ex.id}'{where}", lineno)
        seen[ex.id] = lineno
        out.append(ex)
    return out


def read_jsonl_examples(path: str | Path, labels: Sequence[str] | None = None) -> list[Example]:
    stem = Path(path).stem
    rows = ((n, _example_from_record(path, n, obj, labels, f"{stem}-{n}")) for n, obj in iter_jsonl(path))
    return _check_unique_ids(path, rows)


def read_csv_examples(path: str | Path, labels: Sequence[str] | None = None) -> list[Example]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        lineno = raw[: exc.start].count(b"\n") + 1
        raise InputError(path, f"not valid UTF-8 ({exc.reason})", lineno) from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    columns = reader.fieldnames or []
    for needed in ("text", "label"):
        if needed not in columns:
            raise InputError(path, f"missing column '{needed}' (columns: {', '.join(columns) or 'none'})", 1)

    def rows() -> Iterator[tuple[int, Example]]:
        start = 2
        try:
            for record in reader:
                if None in record:
                    raise InputError(path, "more fields than the header has", start)
                if all((v or "").strip() == "" for v in record.values()):
                    start = reader.line_num + 1
                    continue
                yield start, _example_from_record(path, start, record, labels, f"{path.stem}-{start}")
                start = reader.line_num + 1
        except csv.Error as exc:
            raise InputError(path, f"malformed CSV ({exc})", reader.line_num) from None

    return _check_unique_ids(path, rows())


def _records_from_hf(source: str) -> tuple[str, Iterable[dict[str, Any]]]:
    """Records of a Hugging Face dataset: a ``save_to_disk`` folder or ``hf:NAME[:SPLIT]``."""
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a hard dependency
        raise InputError(source, "reading Hugging Face datasets needs the 'datasets' package") from None
    split = None
    if source.startswith(HF_PREFIX):
        name = source[len(HF_PREFIX):]
        if ":" in name:
            name, split = name.rsplit(":", 1)
        try:
            ds = datasets.load_dataset(name, split=split or "train")
        except Exception as exc:  # network, missing dataset, bad split: one line
            raise InputError(source, f"cannot load dataset: {str(exc).splitlines()[0]}") from None
    else:
        path = Path(source)
        try:
            ds = datasets.load_from_disk(str(path))
        except Exception as exc:
            raise InputError(source, f"not a datasets save_to_disk folder: {str(exc).splitlines()[0]}") from None
        if isinstance(ds, datasets.DatasetDict):
            if "train" not in ds:
                raise InputError(source, f"DatasetDict without a 'train' split (splits: {', '.join(ds)})")
            ds = ds["train"]
    for needed in ("text", "label"):
        if needed not in ds.column_names:
            raise InputError(source, f"missing column '{needed}' (columns: {', '.join(ds.column_names)})")
    names = getattr(ds.features.get("label"), "names", None)  # ClassLabel ints -> names
    if names is None:
        return source, ds
    return source, ({**r, "label": names[r["label"]] if isinstance(r["label"], int) else r["label"]} for r in ds)


def read_examples(source: str | Path, labels: Sequence[str] | None = None) -> list[Example]:
    """Read a labeled corpus: ``.jsonl``, ``.csv``, a ``datasets`` folder, or ``hf:NAME[:SPLIT]``.

    ``labels``: the allowed label names; ``None`` accepts any label.
    """
    source_str = str(source)
    path = Path(source_str)
    if source_str.startswith(HF_PREFIX) or path.is_dir():
        name, records = _records_from_hf(source_str)
        rows = (
            (i + 1, _example_from_record(name, i + 1, dict(r), labels, f"row-{i + 1}"))
            for i, r in enumerate(records)
        )
        return _check_unique_ids(name, rows)
    if not path.exists():
        raise InputError(path, "no such file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return read_jsonl_examples(path, labels)
    if suffix in (".csv", ".tsv"):
        return read_csv_examples(path, labels)
    raise InputError(path, f"unsupported file type '{suffix}' (use .jsonl, .csv, a datasets folder or hf:NAME)")


def examples_to_dataset(examples: Sequence[Example], label_names: Sequence[str]):
    """A ``datasets.Dataset`` with ``id``, ``text`` and integer ``label`` columns."""
    import datasets

    l2i = {name: i for i, name in enumerate(label_names)}
    return datasets.Dataset.from_dict(
        {
            "id": [e.id for e in examples],
            "text": [e.text for e in examples],
            "label": [l2i[e.label] for e in examples],
        },
        features=datasets.Features(
            {
                "id": datasets.Value("string"),
                "text": datasets.Value("string"),
                "label": datasets.ClassLabel(names=list(label_names)),
            }
        ),
    )


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> None:
    """Write records atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def example_to_record(ex: Example) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": ex.id, "text": ex.text, "label": ex.label}
    if ex.labels:
        rec["labels"] = list(ex.labels)
    rec.update(ex.meta)
    return rec


# ---------------------------------------------------------------- inputs to classify

ARTICLE_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")


def _read_text_file(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        lineno = raw[: exc.start].count(b"\n") + 1
        raise InputError(path, f"not valid UTF-8 ({exc.reason})", lineno) from None


@dataclass(frozen=True)
class InputFile:
    """One input file; ``doc_id`` is the article id of a ``.txt`` file (its file name, or its
    path relative to the folder it was found in)."""

    path: Path
    doc_id: str | None = None

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower()


def _as_input(item: InputFile | str | Path) -> InputFile:
    return item if isinstance(item, InputFile) else InputFile(Path(item), Path(item).name)


def _not_regular(path: Path) -> str:
    import stat

    mode = path.stat().st_mode
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    return (f"is {kind}: inputs are read twice (checked first, then classified), so give a regular file "
            "(save the stream to a file first)")


def _folder_files(folder: Path) -> list[InputFile]:
    """The ``.txt`` files under ``folder``, recursively, sorted; ids are paths relative to it.
    Symbolic links are followed only where they stay inside the folder."""
    root = folder.resolve()
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        for name in filenames:
            p = Path(dirpath) / name
            if p.suffix.lower() not in ARTICLE_SUFFIXES:
                continue
            if p.is_symlink():
                target = p.resolve()
                if root not in target.parents:
                    continue  # never read outside the folder through a link
            if not p.is_file():
                continue
            found.append(InputFile(p, p.relative_to(folder).as_posix()))
    return sorted(found, key=lambda f: f.doc_id)


def expand_inputs(inputs: Sequence[str | Path]) -> list[InputFile]:
    """Files named by INPUT arguments: files as given, folders as their ``.txt`` files (recursively,
    sorted, ids relative to the folder)."""
    files: list[InputFile] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = _folder_files(path)
            if not found:
                raise InputError(path, "folder holds no .txt files")
            files.extend(found)
        elif path.is_file():
            if path.suffix.lower() not in ARTICLE_SUFFIXES + JSONL_SUFFIXES:
                raise InputError(path, f"unsupported input type '{path.suffix}' (use .txt, a folder of .txt, or .jsonl)")
            files.append(InputFile(path, path.name if path.suffix.lower() in ARTICLE_SUFFIXES else None))
        elif path.exists():
            raise InputError(path, _not_regular(path))
        else:
            raise InputError(path, "no such file or folder")
    return files


def check_inputs(files: Sequence[InputFile | Path], *, sentences: bool = False) -> int:
    """Validate every input before any work is done (cheap: no model). Returns the record count.

    Catching a bad line 90% of the way through a million-line file *before*
    classifying anything means a bad input never leaves a half-done run. Ids must be unique
    across all inputs (explicit ids, default ``FILE-LINE`` ids and article file ids alike).
    """
    count = 0
    seen: dict[str, str] = {}  # id -> where it was first seen

    def claim(ident: str, path: Path, lineno: int | None) -> None:
        where = f"{path}:{lineno}" if lineno is not None else str(path)
        if ident in seen:
            raise InputError(path, f"duplicate id '{ident}' (first at {seen[ident]})", lineno)
        seen[ident] = where

    for item in map(_as_input, files):
        path = item.path
        if item.suffix in JSONL_SUFFIXES:
            n = 0
            for lineno, obj in iter_jsonl(path):
                _text_field(path, lineno, obj)
                claim(_id_field(path, lineno, obj, f"{path.stem}-{lineno}"), path, lineno)
                n += 1
            if n == 0:
                raise InputError(path, f"no {'sentences' if sentences else 'articles'}: the file is empty")
            count += n
        else:
            if sentences:
                raise InputError(path, "--sentences expects a .jsonl file with 'text' per line")
            text = _read_text_file(path)
            if not text.strip():
                raise InputError(path, "empty article")
            claim(item.doc_id or path.name, path, None)
            count += 1
    return count


def iter_articles(files: Sequence[InputFile | Path]) -> Iterator[Article]:
    """Stream articles: one per ``.txt`` file (id = its ``doc_id``), one per JSONL line."""
    for item in map(_as_input, files):
        path = item.path
        if item.suffix in JSONL_SUFFIXES:
            for lineno, obj in iter_jsonl(path):
                text = _text_field(path, lineno, obj)
                yield Article(_id_field(path, lineno, obj, f"{path.stem}-{lineno}"), text, str(path), lineno)
        else:
            text = _read_text_file(path)
            if not text.strip():
                raise InputError(path, "empty article")
            yield Article(item.doc_id or path.name, text, str(path), None)
