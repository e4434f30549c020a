"""Sentence segmentation for news text, with character offsets into the original.

Lines come first: every line break ends a sentence, so a heading, byline or photo
caption on its own line (usually without final punctuation) is never glued to the
next sentence. Each line is then split by pysbd, a maintained rule-based segmenter
that handles abbreviations (U.S., Gen., Maj., No.), datelines, ellipses and
quotes spanning sentences. pysbd was picked by measurement against Punkt
(``benchmarks/segmenters.py``: 45/45 hard cases against 36/45).

pysbd's time grows with the square of a line's length (a 5 MB line took about two
hours), so a line longer than ``LONG_LINE`` characters is segmented window by window:
pysbd splits a window of ``WINDOW`` characters, every sentence but the window's last is
kept, and the next window starts where that last sentence starts. Where a window holds
no sentence boundary, it is cut at its last space (never mid-word). Time is then linear
in the line's length (``benchmarks/long_lines.py``); lines of ordinary articles are
shorter than ``LONG_LINE`` and are split exactly as before. A line over ``PARALLEL_LINE``
characters is first cut into pieces of about ``PIECE`` characters at plain sentence ends, and
the pieces are segmented in parallel processes (the result does not depend on how many).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_LINE = re.compile(r"[^\r\n]+")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offset of the first character in the article
    end: int  # offset one past the last character: article[start:end] == text


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


LONG_LINE = 20_000
WINDOW = 2_000
#: a line longer than this is cut into pieces of about ``PIECE`` characters (at a plain sentence
#: end: a word of three or more lower-case letters, a full stop, a space, a capital) that can be
#: segmented in parallel (``processes``); the pieces, and so the sentences, never depend on it
PARALLEL_LINE = 400_000
PIECE = 200_000
_PLAIN_END = re.compile(r"[a-z]{3}[.!?][\"”’)]?\s+(?=[\"“‘(]?[A-Z])")


def _split_line(line: str, processes: int = 1) -> list[str]:
    if len(line) < 3 or not any(c in line for c in ".?!…"):
        return [line]  # nothing to split: skip pysbd (a heading, a caption)
    if len(line) > PARALLEL_LINE:
        return _split_huge_line(line, processes)
    if len(line) > LONG_LINE:
        return _split_long_line(line)
    return _segmenter().segment(line)


def _split_long_line(line: str) -> list[str]:
    """Sentences of a very long line, window by window (linear time; see the module doc)."""
    pieces: list[str] = []
    pos = 0
    while pos < len(line):
        if len(line) - pos <= WINDOW:
            pieces += _segmenter().segment(line[pos:]) if any(c in line[pos:] for c in ".?!…") else [line[pos:]]
            break
        window = line[pos : pos + WINDOW]
        sents = _segmenter().segment(window) if any(c in window for c in ".?!…") else [window]
        last = window.rfind(sents[-1].strip()) if len(sents) > 1 else -1
        if last > 0:
            pieces += sents[:-1]
            pos += last
            continue
        cut = window.rstrip().rfind(" ")  # no boundary in the window: cut at a space, never mid-word
        cut = cut if cut > 0 else WINDOW
        pieces.append(window[:cut])
        pos += cut
    return pieces


def _pieces(line: str) -> list[str]:
    """``line`` cut into pieces of about ``PIECE`` characters, each cut just after a plain sentence
    end found within a window past the target (else at a space; never mid-word)."""
    cuts = [0]
    while len(line) - cuts[-1] > PIECE * 1.5:
        target = cuts[-1] + PIECE
        m = _PLAIN_END.search(line, target, target + LONG_LINE)
        if m:
            cut = m.end()
        else:
            space = line.rfind(" ", cuts[-1] + 1, target)
            cut = space + 1 if space > cuts[-1] else target
        cuts.append(cut)
    cuts.append(len(line))
    return [line[a:b] for a, b in zip(cuts, cuts[1:])]


def _split_huge_line(line: str, processes: int = 1) -> list[str]:
    """Sentences of a huge line: its pieces segmented window by window, in up to ``processes``
    processes (the same sentences whatever their number)."""
    pieces = _pieces(line)
    workers = min(len(pieces), processes)
    if workers < 2:
        return [s for piece in pieces for s in _split_long_line(piece)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the caller may hold ONNX Runtime or torch threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return [s for part in pool.map(_split_long_line, pieces) for s in part]


def segment(text: str, *, processes: int = 1) -> list[Sentence]:
    """Split an article into sentences; ``text[s.start:s.end] == s.text`` for each.

    ``processes``: a line of over ``PARALLEL_LINE`` characters (a feed that lost its line breaks)
    is segmented by up to this many processes, started with ``spawn`` (the ``claimclf`` command
    uses one per CPU). In your own script, use more than 1 only under ``if __name__ ==
    "__main__":``, as multiprocessing requires."""
    sentences: list[Sentence] = []
    for match in _LINE.finditer(text):
        line = match.group()
        if not line.strip():
            continue
        base = match.start()
        cursor = 0
        for piece in _split_line(line, processes):
            piece = piece.strip()
            if not piece:
                continue
            found = line.find(piece, cursor)
            if found < 0:  # pysbd changed the text: fall back to the rest of the line
                rest = line[cursor:]
                stripped = rest.strip()
                if stripped:
                    offset = cursor + rest.find(stripped)
                    sentences.append(Sentence(stripped, base + offset, base + offset + len(stripped)))
                break
            sentences.append(Sentence(piece, base + found, base + found + len(piece)))
            cursor = found + len(piece)
    return sentences


def split_sentences(text: str) -> list[str]:
    """Sentence texts only."""
    return [s.text for s in segment(text)]
