"""Corpus checks behind ``claimclf data check``: counts, duplicates, near-duplicate leakage.

Near duplicates are pairs whose word 3-gram sets have a Jaccard similarity of at
least ``near_threshold`` (default 0.6) after names and numbers are masked (any
capitalised word after the first, any number): "same sentence, names swapped"
pairs are caught too.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .data import Example, read_examples
from .errors import InputError
from .labels import DEFAULT_LABELS

_WORD = re.compile(r"[a-z]+")


_TOKEN = re.compile(r"[A-Za-z]+|\d+")


def normalize(text: str) -> str:
    """Lower case, words only: exact duplicates up to case, digits and punctuation."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_WORD.findall(text))


def skeleton(text: str) -> list[str]:
    """Words with names and numbers masked, so "same sentence, names swapped" pairs match."""
    tokens = _TOKEN.findall(unicodedata.normalize("NFKC", text))
    out = []
    for i, tok in enumerate(tokens):
        if tok.isdigit() or (i > 0 and tok[0].isupper()):
            if not out or out[-1] != "#":
                out.append("#")
        else:
            out.append(tok.lower())
    return out


def shingles(text: str, n: int = 3) -> frozenset[str]:
    words = skeleton(text)
    if len(words) < n:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))


def near_duplicate_pairs(texts: Sequence[str], threshold: float = 0.6, n: int = 3) -> list[tuple[int, int, float]]:
    """Index pairs ``(i, j, jaccard)`` with ``i < j`` whose shingle Jaccard is >= threshold."""
    sets = [shingles(t, n) for t in texts]
    index: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for g in s:
            index[g].append(i)
    pairs = []
    for i, s in enumerate(sets):
        overlap: Counter[int] = Counter()
        for g in s:
            for j in index[g]:
                if j > i:
                    overlap[j] += 1
        for j, inter in overlap.items():
            jac = inter / (len(s) + len(sets[j]) - inter)
            if jac >= threshold:
                pairs.append((i, j, jac))
    return pairs


@dataclass
class CheckReport:
    counts: dict[str, Counter] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_corpus(files: Sequence[str | Path], labels: Sequence[str] | None = DEFAULT_LABELS,
                 near_threshold: float = 0.6) -> CheckReport:
    """Validate each file, then look for duplicates inside files and leakage across them."""
    report = CheckReport()
    loaded: dict[str, list[Example]] = {}
    for f in files:
        try:
            exs = read_examples(f, labels)
        except InputError as exc:
            report.errors.append(str(exc))
            continue
        loaded[str(f)] = exs
        report.counts[str(f)] = Counter(e.label for e in exs)
    items = [(name, e) for name, exs in loaded.items() for e in exs]
    texts = [e.text for _, e in items]
    by_norm: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(texts):
        by_norm[normalize(t)].append(i)
    for idxs in by_norm.values():
        if len(idxs) > 1:
            where = ", ".join(f"{items[i][0]} id={items[i][1].id}" for i in idxs[:4])
            report.errors.append(f"duplicate text: {where}: {texts[idxs[0]][:70]!r}")
    for i, j, jac in near_duplicate_pairs(texts, near_threshold):
        if normalize(texts[i]) == normalize(texts[j]):
            continue  # reported as exact above
        (fi, ei), (fj, ej) = items[i], items[j]
        msg = f"near duplicate (jaccard {jac:.2f}): {fi} id={ei.id} ~ {fj} id={ej.id}"
        if fi != fj:
            report.errors.append("leakage across splits, " + msg)
        else:
            report.warnings.append(msg)
    return report


def format_report(report: CheckReport) -> str:
    labels = sorted({lab for c in report.counts.values() for lab in c}, key=lambda x: (x == "other", x))
    lines = []
    if report.counts:
        head = f"{'file':<40} " + " ".join(f"{lab[:19]:>19}" for lab in labels) + f" {'total':>7}"
        lines += [head, "-" * len(head)]
        total: Counter = Counter()
        for name, c in report.counts.items():
            total.update(c)
            lines.append(f"{Path(name).name[:40]:<40} " + " ".join(f"{c[lab]:>19}" for lab in labels)
                         + f" {sum(c.values()):>7}")
        if len(report.counts) > 1:
            lines.append(f"{'all':<40} " + " ".join(f"{total[lab]:>19}" for lab in labels)
                         + f" {sum(total.values()):>7}")
    for w in report.warnings[:20]:
        lines.append(f"warning: {w}")
    if len(report.warnings) > 20:
        lines.append(f"warning: ... {len(report.warnings) - 20} more near duplicates inside files")
    for e in report.errors:
        lines.append(f"error: {e}")
    lines.append(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return "\n".join(lines)
