"""Segmentation: the hard news cases, offsets, and the seed article's gold split."""

from __future__ import annotations

import json
import sys

import pytest

from claimclf.segment import segment

from conftest import DATA, REPO

sys.path.insert(0, str(DATA))
from segmentation_cases import CASES  # noqa: E402


def test_there_are_at_least_40_cases():
    assert len(CASES) >= 40
    assert len({name for name, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("name, text, expected", CASES, ids=[c[0] for c in CASES])
def test_hard_case(name, text, expected):
    sents = segment(text)
    assert [s.text for s in sents] == expected
    for s in sents:
        assert text[s.start : s.end] == s.text


def test_seed_article_matches_gold_split():
    text = (REPO / "seeds" / "000_807158935edd99d1.txt").read_text(encoding="utf-8")
    gold = [json.loads(x)["text"] for x in (REPO / "seeds" / "000_807158935edd99d1.gold.jsonl").open()]
    assert [s.text for s in segment(text)] == gold


def test_empty_and_whitespace():
    assert segment("") == []
    assert segment(" \n\n \t") == []


def test_offsets_are_monotonic_on_long_text():
    text = "\n\n".join(c[1] for c in CASES)
    sents = segment(text)
    assert all(a.end <= b.start for a, b in zip(sents, sents[1:]))
    assert all(text[s.start : s.end] == s.text for s in sents)


def test_huge_line_pieces_give_the_same_sentences_in_parallel(monkeypatch):
    """A line over PARALLEL_LINE is cut into pieces at plain sentence ends; the sentences are the same
    whether the pieces are segmented in one process or several, and never cut mid-word."""
    import claimclf.segment as sg

    monkeypatch.setattr(sg, "PARALLEL_LINE", 30_000)
    monkeypatch.setattr(sg, "PIECE", 12_000)
    unit = ("The U.S. Army said on Monday that Gen. Smith would visit the base. Talks went on for hours "
            "without an agreement. ")
    line = unit * (60_000 // len(unit))
    pieces = sg._pieces(line)
    assert len(pieces) >= 4 and "".join(pieces) == line
    assert all(p.endswith(". ") and p[:-2].endswith(("base", "agreement")) for p in pieces[:-1])  # not after U.S.
    serial = sg.segment(line)
    assert sg.segment(line, processes=2) == serial
    assert all(line[s.start:s.end] == s.text for s in serial)
    assert sum(s.text.startswith("The U.S. Army") for s in serial) == len(line) // len(unit)
