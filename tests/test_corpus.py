"""The shipped corpus: sizes and balance from the issue, no leakage, valid article gold."""

from __future__ import annotations

import sys
from collections import Counter

import pytest

from claimclf.data import read_examples
from claimclf.datacheck import check_corpus, near_duplicate_pairs
from claimclf.evaluate import read_article_gold
from claimclf.labels import DEFAULT_LABELS

from conftest import REPO

sys.path.insert(0, str(REPO / "training"))
from build_corpus import TRAIN_ONLY_PREFIX  # noqa: E402  (the corpus builder's own rule, not a copy)

DATA = REPO / "training" / "data"
SPLITS = [DATA / f"{s}.jsonl" for s in ("train", "dev", "test")]


@pytest.fixture(scope="module")
def corpus():
    return {p.stem: read_examples(p, DEFAULT_LABELS) for p in SPLITS}


def test_data_check_passes_on_the_shipped_corpus():
    report = check_corpus(SPLITS + [REPO / "seeds" / "000_807158935edd99d1.gold.jsonl"])
    assert report.ok, report.errors[:5]


def test_sizes_and_balance(corpus):
    allx = [e for exs in corpus.values() for e in exs]
    counts = Counter(e.label for e in allx)
    assert len(allx) >= 4500
    assert counts["other"] >= 2500
    for act in DEFAULT_LABELS[:4]:
        assert counts[act] >= 450
    n = len(allx)
    assert 0.65 <= len(corpus["train"]) / n <= 0.85  # curated batches 70/15/15, train-only batches on top
    # dev and test are stratified 15% slices of the curated (not train-only) batches
    curated = [e for e in allx if not e.meta.get("batch", "").startswith(TRAIN_ONLY_PREFIX)]
    curated_ids = {e.id for e in curated}
    assert all(e.id in curated_ids for split in ("dev", "test") for e in corpus[split])
    base = Counter(e.label for e in curated)
    for split in ("dev", "test"):
        assert len(corpus[split]) >= 900
        assert 0.13 <= len(corpus[split]) / len(curated) <= 0.17
        c = Counter(e.label for e in corpus[split])
        for label in DEFAULT_LABELS:
            assert abs(c[label] / len(corpus[split]) - base[label] / len(curated)) < 0.02


def test_other_covers_the_required_kinds(corpus):
    kinds = Counter(e.meta.get("kind") for exs in corpus.values() for e in exs if e.label == "other")
    required = ["demand_call", "threat_ultimatum", "protest_strike", "sanction_embargo", "arrest", "trial_verdict",
                "investigation", "attack", "combat_casualties", "ceasefire_status", "concession_release",
                "praise_support", "meeting", "visit", "talks_mediation", "aid_loan", "election_vote",
                "rejected_proposal", "did_not_deny", "denied_visa_entry", "failed_talks", "agreement_background",
                "arms_sale"]
    for kind in required:
        assert kinds[kind] >= 60, kind
    ordinary = {"economy", "business", "markets", "science", "health", "weather", "sport", "culture", "crime",
                "local", "technology", "education", "environment"}
    assert sum(kinds[k] for k in ordinary) >= 500


def test_multi_act_sentences_list_primary_first(corpus):
    multi = [e for exs in corpus.values() for e in exs if e.labels]
    assert len(multi) >= 200
    assert all(e.labels[0] == e.label for e in multi)


def test_no_near_duplicates_across_splits(corpus):
    items = [(name, e.text) for name, exs in corpus.items() for e in exs]
    pairs = near_duplicate_pairs([t for _, t in items], 0.6)
    assert [(items[i], items[j]) for i, j, _ in pairs if items[i][0] != items[j][0]] == []


def test_article_test_set():
    arts = read_article_gold(DATA / "articles_test.jsonl", DEFAULT_LABELS)
    assert len(arts) >= 10
    assert all(8 <= len(a.sentences) <= 20 for a in arts)
    labels = Counter(s.label for a in arts for s in a.sentences)
    assert labels["other"] > sum(v for k, v in labels.items() if k != "other")


def test_no_evaluation_text_in_the_corpus(corpus):
    """Neither the seed article nor any article test set leaks into train/dev/test."""
    import json

    held = [json.loads(x)["text"] for x in (REPO / "seeds" / "000_807158935edd99d1.gold.jsonl").open()]
    for f in sorted(DATA.glob("articles_*.jsonl")):
        held += [s["text"] for line in f.open() for s in json.loads(line)["sentences"]]
    texts = [e.text for exs in corpus.values() for e in exs]
    pairs = near_duplicate_pairs(held + texts, 0.6)
    assert [(held[i], texts[j - len(held)]) for i, j, _ in pairs if i < len(held) <= j] == []
