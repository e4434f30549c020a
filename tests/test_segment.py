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
