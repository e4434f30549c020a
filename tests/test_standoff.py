"""Standoff gold: labels keyed by story id and offsets, checked against the texts and the segmenter."""

from __future__ import annotations

import json

import pytest

from claimclf.cli import main
from claimclf.errors import InputError
from claimclf.labels import DEFAULT_LABELS
from claimclf.segment import segment
from claimclf.standoff import check_standoff, read_standoff, read_standoff_articles, read_standoff_examples

from conftest import REPO

STORY = ("Cameroon accused Nigeria on Tuesday of shelling its positions. "
         "Abuja rejected the charge as baseless. The two sides agreed to meet in Geneva.")
REAL_LABELS = REPO / "training" / "real_news" / "labels.jsonl"
REAL_TEXTS = REPO.parent / "shared" / "real_news" / "voa_stories.jsonl"


def _rows():
    sents = segment(STORY)
    labels = ["accusation", "denial", "agreement"]
    rows = []
    for i, (s, lab) in enumerate(zip(sents, labels)):
        row = {"story": "s1", "sentence": i, "start": s.start, "end": s.end, "label": lab, "split": "test",
               "source": None, "target": None}
        if i == 0:
            row["source"] = {"start": 0, "end": len("Cameroon")}
            row["target"] = {"start": s.text.index("Nigeria"), "end": s.text.index("Nigeria") + len("Nigeria")}
        rows.append(row)
    return rows


def _write(tmp_path, rows, text=STORY):
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    texts = tmp_path / "docs.jsonl"
    texts.write_text(json.dumps({"id": "s1", "text": text}) + "\n", encoding="utf-8")
    return labels, texts


def test_valid_standoff_file_checks_and_reads(tmp_path):
    labels, texts = _write(tmp_path, _rows())
    report = check_standoff(labels, texts, DEFAULT_LABELS)
    assert report.ok, report.errors
    assert report.counts["test"] == {"accusation": 1, "denial": 1, "agreement": 1}
    exs = read_standoff_examples(labels, texts, split="test")
    assert [e.label for e in exs] == ["accusation", "denial", "agreement"]
    assert exs[0].meta["source"] == {"text": "Cameroon", "start": 0, "end": 8}
    assert exs[0].meta["target"]["text"] == "Nigeria"
    assert exs[1].text == "Abuja rejected the charge as baseless."


def test_sentences_must_match_the_segmenter(tmp_path):
    rows = _rows()
    rows[1]["end"] -= 1  # not the segmenter's sentence
    labels, texts = _write(tmp_path, rows)
    report = check_standoff(labels, texts)
    assert not report.ok
    assert any("the segmenter gives" in e and "labels.jsonl:2" in e for e in report.errors)


def test_missing_sentence_and_offsets_past_the_end(tmp_path):
    rows = _rows()[:2]
    labels, texts = _write(tmp_path, rows, text=STORY)
    assert any("segmenter finds 3" in e for e in check_standoff(labels, texts).errors)
    rows = _rows()
    rows[2]["end"] = len(STORY) + 40
    labels, texts = _write(tmp_path, rows)
    assert any("run past the story's end" in e for e in check_standoff(labels, texts).errors)


def test_story_missing_from_texts_and_split_mixing(tmp_path):
    rows = _rows()
    rows[2]["split"] = "train"
    labels, texts = _write(tmp_path, rows)
    errors = check_standoff(labels, texts).errors
    assert any("more than one split" in e for e in errors)
    rows = [dict(r, story="s2") for r in _rows()]
    labels, texts = _write(tmp_path, rows)
    assert any("story s2 is not in" in e for e in check_standoff(labels, texts).errors)


@pytest.mark.parametrize("change, message", [
    ({"label": "other"}, "no source or target"),
    ({"source": {"start": 5, "end": 999}}, "not inside the sentence"),
    ({"start": "0"}, "'start' must be a non-negative integer"),
    ({"split": "validation"}, "'split' must be one of"),
    ({"text": "copied text"}, "unknown field"),
    ({"label": "praise"}, "unknown label 'praise'"),
])
def test_bad_rows_name_file_and_line(tmp_path, change, message):
    rows = _rows()
    rows[0].update(change)
    labels, _ = _write(tmp_path, rows)
    with pytest.raises(InputError, match=message) as err:
        read_standoff(labels, DEFAULT_LABELS)
    assert str(err.value).startswith(f"{labels}:1:")


def test_cli_check_export_and_evaluate(tmp_path, tiny_model, capsys):
    labels, texts = _write(tmp_path, _rows())
    assert main(["data", "check", str(labels), "--texts", str(texts)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    out = tmp_path / "sents.jsonl"
    assert main(["data", "export", str(labels), "--texts", str(texts), "--split", "test", "-o", str(out)]) == 0
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["text"] for r in recs] == [s.text for s in segment(STORY)]
    assert recs[0]["source"]["text"] == "Cameroon"
    assert main(["evaluate", "--gold", str(labels), "--texts", str(texts), "--split", "test",
                 "--model", str(tiny_model), "--backend", "torch", "-q"]) == 0
    assert "n=3" in capsys.readouterr().out
    assert main(["evaluate", "--gold", str(labels), "--texts", str(texts), "--split", "dev",
                 "--model", str(tiny_model), "-q"]) == 1
    assert "no stories in split 'dev'" in capsys.readouterr().err


@pytest.mark.skipif(not REAL_TEXTS.exists(), reason="../shared/real_news is not beside the checkout")
def test_committed_real_news_labels_match_the_stories_and_the_segmenter():
    report = check_standoff(REAL_LABELS, REAL_TEXTS, DEFAULT_LABELS)
    assert report.ok, report.errors[:5]
    assert report.rows == 1663 and report.stories == 65
    stories = {s: {a.id for a in read_standoff_articles(REAL_LABELS, REAL_TEXTS, split=s)}
               for s in ("train", "dev", "test")}
    assert [len(stories[s]) for s in ("train", "dev", "test")] == [35, 12, 18]
    assert not (stories["train"] & stories["test"]) and not (stories["dev"] & stories["test"])
