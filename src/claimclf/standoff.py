"""Standoff gold labels: labels keyed by document id and character offsets, text kept elsewhere.

Some gold text may not be redistributed with the labels (a news feed's licence, or a
corpus the project may read but not copy). A standoff label file holds, one JSON object a
line, what a person decided about one sentence of a document, and nothing of its text::

    {"story": "8011115", "sentence": 3, "start": 412, "end": 530, "label": "accusation",
     "labels": ["accusation", "denial"], "source": {"start": 0, "end": 14},
     "target": {"start": 40, "end": 46}, "split": "train"}

``start``/``end`` index the document's ``text`` (``text[start:end]`` is the sentence, as
:func:`claimclf.segment.segment` splits it); ``source``/``target`` (act sentences only,
``null`` where the sentence names no such actor) index the sentence. The texts come from
a JSON Lines file of ``{"id", "text"}`` documents read at build time.

:func:`check_standoff` validates a label file against its texts (the rows of each document
are exactly its sentences by the segmenter, in order; spans inside their sentence; one
split per document); :func:`read_standoff_articles` and :func:`read_standoff_examples` turn
it into the gold articles and sentence examples that evaluation and training read.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data import Example, iter_jsonl
from .errors import InputError

SPLITS = ("train", "dev", "test")
_KEYS = {"story", "sentence", "start", "end", "label", "labels", "source", "target", "split"}


_NO_COUNTRY: Any = object()  # a span whose country was not annotated


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    #: the gold ISO 3166-1 alpha-3 code of the actor (None: names no country); absent when not annotated
    country: Any = None


@dataclass(frozen=True)
class StandoffRow:
    story: str
    sentence: int
    start: int
    end: int
    label: str
    labels: tuple[str, ...] = ()
    source: Span | None = None
    target: Span | None = None
    split: str | None = None
    line: int = 0


@dataclass
class StandoffReport:
    rows: int = 0
    stories: int = 0
    counts: dict[str, Counter] = field(default_factory=dict)  # split -> label counts
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _int(path, lineno, obj, key) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InputError(path, f"'{key}' must be a non-negative integer", lineno)
    return value


def _span(path, lineno, obj, key, length: int) -> Span | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"start", "end", "country"}:
        raise InputError(path, f"'{key}' must be null or {{\"start\", \"end\"[, \"country\"]}}", lineno)
    start, end = _int(path, lineno, value, "start"), _int(path, lineno, value, "end")
    if not start < end <= length:
        raise InputError(path, f"'{key}' span {start}:{end} is not inside the sentence (length {length})", lineno)
    country = value.get("country", _NO_COUNTRY)
    if country is not _NO_COUNTRY and country is not None and not (
            isinstance(country, str) and len(country) == 3 and country.isascii() and country.isupper()):
        raise InputError(path, f"'{key}' country must be null or an ISO 3166-1 alpha-3 code, got {country!r}", lineno)
    return Span(start, end, country)


def read_standoff(path: str | Path, labels: Sequence[str] | None = None) -> list[StandoffRow]:
    """Read and validate a standoff label file (the texts are not needed for this)."""
    rows: list[StandoffRow] = []
    seen: dict[tuple[str, int], int] = {}
    for lineno, obj in iter_jsonl(path):
        unknown = set(obj) - _KEYS
        if unknown:
            raise InputError(path, f"unknown field(s) {', '.join(sorted(unknown))}", lineno)
        story = obj.get("story")
        if not isinstance(story, (str, int)) or isinstance(story, bool) or story == "":
            raise InputError(path, "'story' must be a non-empty string", lineno)
        story = str(story)
        n = _int(path, lineno, obj, "sentence")
        start, end = _int(path, lineno, obj, "start"), _int(path, lineno, obj, "end")
        if end <= start:
            raise InputError(path, f"empty or reversed sentence span {start}:{end}", lineno)
        label = obj.get("label")
        if not isinstance(label, str) or not label:
            raise InputError(path, "missing 'label'", lineno)
        extra = obj.get("labels") or []
        if not isinstance(extra, list) or not all(isinstance(x, str) for x in extra):
            raise InputError(path, "'labels' must be a list of strings", lineno)
        if extra and extra[0] != label:
            raise InputError(path, f"'labels' must list the primary label '{label}' first", lineno)
        if len(set(extra)) != len(extra):
            raise InputError(path, "'labels' repeats a label", lineno)
        if labels is not None:
            for name in (label, *extra):
                if name not in labels:
                    raise InputError(path, f"unknown label '{name}' (known: {', '.join(labels)})", lineno)
        source = _span(path, lineno, obj, "source", end - start)
        target = _span(path, lineno, obj, "target", end - start)
        if label == "other" and (source or target):
            raise InputError(path, "an 'other' sentence has no source or target", lineno)
        split = obj.get("split")
        if split is not None and split not in SPLITS:
            raise InputError(path, f"'split' must be one of {', '.join(SPLITS)}, got {split!r}", lineno)
        key = (story, n)
        if key in seen:
            raise InputError(path, f"story {story} sentence {n} is labeled twice (first on line {seen[key]})", lineno)
        seen[key] = lineno
        rows.append(StandoffRow(story, n, start, end, label, tuple(extra) if len(extra) > 1 else (),
                                source, target, split, lineno))
    return rows


def read_texts(path: str | Path) -> dict[str, str]:
    """``{"id": ..., "text": ...}`` documents by id."""
    texts: dict[str, str] = {}
    for lineno, obj in iter_jsonl(path):
        ident, text = obj.get("id"), obj.get("text")
        if ident is None or not isinstance(text, str):
            raise InputError(path, "each line needs 'id' and a string 'text'", lineno)
        ident = str(ident)
        if ident in texts:
            raise InputError(path, f"duplicate id '{ident}'", lineno)
        texts[ident] = text
    return texts


def _by_story(rows: Sequence[StandoffRow]) -> dict[str, list[StandoffRow]]:
    grouped: dict[str, list[StandoffRow]] = defaultdict(list)
    for r in rows:
        grouped[r.story].append(r)
    for rs in grouped.values():
        rs.sort(key=lambda r: r.sentence)
    return grouped


def check_standoff(labels_path: str | Path, texts_path: str | Path,
                   labels: Sequence[str] | None = None) -> StandoffReport:
    """Validate a standoff label file against its texts: every row's offsets inside its story,
    each story's rows exactly its sentences by the project's segmenter (same count, order and
    offsets), spans inside their sentence and not blank, one split per story."""
    from .segment import segment

    report = StandoffReport()
    try:
        rows = read_standoff(labels_path, labels)
        texts = read_texts(texts_path)
    except InputError as exc:
        report.errors.append(str(exc))
        return report
    report.rows = len(rows)
    grouped = _by_story(rows)
    report.stories = len(grouped)
    for story, rs in grouped.items():
        where = f"{labels_path}:{rs[0].line}"
        if story not in texts:
            report.errors.append(f"{where}: story {story} is not in {texts_path}")
            continue
        text = texts[story]
        splits = {r.split for r in rs}
        if len(splits) > 1:
            report.errors.append(f"{where}: story {story} is in more than one split ({', '.join(map(str, splits))})")
        sents = segment(text)
        if [r.sentence for r in rs] != list(range(len(rs))):
            report.errors.append(f"{where}: story {story}: sentence numbers are not 0..{len(rs) - 1}")
        if len(rs) != len(sents):
            report.errors.append(f"{where}: story {story} has {len(rs)} labeled sentences, the segmenter "
                                 f"finds {len(sents)}")
        for r in rs:
            at = f"{labels_path}:{r.line}"
            if r.end > len(text):
                report.errors.append(f"{at}: offsets {r.start}:{r.end} run past the story's end ({len(text)})")
                continue
            if r.sentence < len(sents) and (sents[r.sentence].start, sents[r.sentence].end) != (r.start, r.end):
                s = sents[r.sentence]
                report.errors.append(f"{at}: story {story} sentence {r.sentence} is {r.start}:{r.end}, "
                                     f"the segmenter gives {s.start}:{s.end}")
            for role, span in (("source", r.source), ("target", r.target)):
                if span is not None and not text[r.start + span.start : r.start + span.end].strip():
                    report.errors.append(f"{at}: {role} span is blank")
        for r in rs:
            report.counts.setdefault(r.split or "all", Counter())[r.label] += 1
    return report


def _span_record(sentence: str, span: Span | None) -> dict[str, Any] | None:
    if span is None:
        return None
    rec = {"text": sentence[span.start : span.end], "start": span.start, "end": span.end}
    if span.country is not _NO_COUNTRY:
        rec["country"] = span.country
    return rec


@dataclass
class StandoffArticle:
    id: str
    text: str
    sentences: list[Example]


def read_standoff_articles(labels_path: str | Path, texts_path: str | Path, *, split: str | None = None,
                           labels: Sequence[str] | None = None) -> list[StandoffArticle]:
    """Gold articles (text from ``texts_path``; sentences with ``start``/``end``, ``source`` and
    ``target`` in ``meta``) for the stories of ``split`` (all when ``None``)."""
    if split is not None and split not in SPLITS:
        raise InputError(labels_path, f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    rows = read_standoff(labels_path, labels)
    texts = read_texts(texts_path)
    out = []
    for story, rs in _by_story(rows).items():
        if split is not None and rs[0].split != split:
            continue
        if story not in texts:
            raise InputError(labels_path, f"story {story} is not in {texts_path}", rs[0].line)
        text = texts[story]
        exs = []
        for r in rs:
            if r.end > len(text):
                raise InputError(labels_path, f"offsets {r.start}:{r.end} run past the story's end", r.line)
            sent = text[r.start : r.end]
            meta = {"start": r.start, "end": r.end, "article": story, "source": _span_record(sent, r.source),
                    "target": _span_record(sent, r.target), "split": r.split}
            exs.append(Example(f"{story}-{r.sentence}", sent, r.label, r.labels, meta))
        out.append(StandoffArticle(story, text, exs))
    if not out:
        raise InputError(labels_path, f"no stories in split {split!r}" if split else "no labeled stories")
    return out


def read_standoff_examples(labels_path: str | Path, texts_path: str | Path, *, split: str | None = None,
                           labels: Sequence[str] | None = None) -> list[Example]:
    """The labeled sentences of ``split`` as :class:`~claimclf.data.Example` (id ``story-n``)."""
    return [ex for art in read_standoff_articles(labels_path, texts_path, split=split, labels=labels)
            for ex in art.sentences]


def export_standoff(labels_path: str | Path, texts_path: str | Path, output: str | Path, *,
                    split: str | None = None, articles: bool = False) -> int:
    """Write the labeled sentences (or articles) with their text to ``output`` (JSON Lines, atomically)."""
    from .data import write_jsonl

    arts = read_standoff_articles(labels_path, texts_path, split=split)

    def sentence(ex: Example) -> dict[str, Any]:
        rec: dict[str, Any] = {"id": ex.id, "text": ex.text, "label": ex.label}
        if ex.labels:
            rec["labels"] = list(ex.labels)
        rec.update({k: ex.meta[k] for k in ("source", "target", "start", "end")})
        return rec

    if articles:
        records = [{"id": a.id, "text": a.text, "sentences": [sentence(e) for e in a.sentences]} for a in arts]
    else:
        records = [sentence(e) for a in arts for e in a.sentences]
    write_jsonl(output, records)
    return len(records)


def format_standoff_report(path: str | Path, report: StandoffReport) -> str:
    from .labels import DEFAULT_LABELS

    names = sorted({lab for c in report.counts.values() for lab in c},
                   key=lambda x: (DEFAULT_LABELS.index(x) if x in DEFAULT_LABELS else len(DEFAULT_LABELS), x))
    lines = [f"{path}: {report.rows} sentences in {report.stories} stories"]
    if report.counts:
        head = f"{'split':<8} " + " ".join(f"{n[:19]:>19}" for n in names) + f" {'total':>7}"
        lines += [head, "-" * len(head)]
        for split in [*SPLITS, "all"]:
            if split in report.counts:
                c = report.counts[split]
                lines.append(f"{split:<8} " + " ".join(f"{c[n]:>19}" for n in names) + f" {sum(c.values()):>7}")
    lines += [f"error: {e}" for e in report.errors[:50]]
    if len(report.errors) > 50:
        lines.append(f"error: ... {len(report.errors) - 50} more")
    lines.append(f"{len(report.errors)} error(s)")
    return "\n".join(lines)
