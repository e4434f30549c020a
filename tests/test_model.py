"""Training, save/load round trip, prediction API (tiny random BERT, no network)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from claimclf import ClaimClassifier
from claimclf.config import load_config
from claimclf.errors import ClaimClfError
from claimclf.labels import DEFAULT_LABELS
from claimclf.train import train

from conftest import REPO


def test_trained_folder_layout(tiny_model):
    names = {p.name for p in tiny_model.iterdir()}
    assert {"config.json", "model.safetensors", "claimclf.json", "metrics.json", "README.md",
            "tokenizer.json"} <= names
    assert not any(n.endswith((".bin", ".pt", ".pkl")) for n in names)
    assert {"model.onnx", "model.weights.json", "model_quantized.onnx"} <= {p.name for p in (tiny_model / "onnx").iterdir()}
    config = json.loads((tiny_model / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(5)] == list(DEFAULT_LABELS)
    metrics = json.loads((tiny_model / "metrics.json").read_text())
    assert set(metrics["eval"]) == {"dev", "test", "articles"}
    assert len(metrics["data"]["train_file"]["sha256"]) == 64
    card = (tiny_model / "README.md").read_text()
    assert "macro-F1" in card and "## Training" in card


def test_predict_contract(clf):
    preds = clf.predict(["The army denied the reports.", "Rain fell."])
    assert len(preds) == 2
    for p in preds:
        assert p.label in DEFAULT_LABELS
        assert set(p.scores) == set(DEFAULT_LABELS)
        assert abs(sum(p.scores.values()) - 1) < 1e-3
        assert p.score == max(p.scores.values())
    assert clf.predict([]) == []
    with pytest.raises(TypeError):
        clf.predict("one string")


def test_batches_sorted_by_length_keep_input_order(clf):
    texts = ["Rain.", "The minister accused the rebels of shelling the market on Sunday night.", "Troops moved."]
    one_by_one = [clf.predict([t])[0].scores for t in texts]
    batched = [p.scores for p in clf.predict(texts, batch_size=2)]
    for a, b in zip(one_by_one, batched):
        assert a == pytest.approx(b, abs=1e-4)


def test_save_load_round_trip(clf, tmp_path):
    texts = ["The two sides agreed on a ceasefire.", "The navy sent warships."]
    before = clf.predict_proba(texts)
    clf.save(tmp_path / "copy")
    again = ClaimClassifier.load(tmp_path / "copy", backend="torch")
    assert again.labels == clf.labels
    assert again.temperature == clf.temperature
    np.testing.assert_allclose(again.predict_proba(texts), before, atol=1e-5)
    clf.save(tmp_path / "half", dtype="float16")
    half = ClaimClassifier.load(tmp_path / "half", backend="torch")
    np.testing.assert_allclose(half.predict_proba(texts), before, atol=2e-2)


def test_predict_article_offsets(clf):
    text = (REPO / "seeds" / "000_807158935edd99d1.txt").read_text()
    out = clf.predict_article(text)
    assert len(out) == 27
    assert [s.sentence for s in out] == list(range(27))
    assert all(text[s.start : s.end] == s.text for s in out)


def test_threshold_turns_weak_acts_into_other(clf):
    texts = ["The army denied the reports.", "The team won the final.", "Sunday."]
    strict = clf.predict(texts, threshold=1.0)
    assert all(p.label == "other" for p in strict)
    assert [p.label for p in clf.predict(texts, threshold=0.0)] == [p.label for p in clf.predict(texts)]


def test_truncation_is_warned_once(tiny_model):
    clf = ClaimClassifier.load(tiny_model, backend="torch")
    long = " ".join(["troops"] * 200)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.predict([long, long])
        clf.predict([long])
    msgs = [w for w in caught if "truncated" in str(w.message)]
    assert len(msgs) == 1
    assert clf.predict([long])[0].label in DEFAULT_LABELS
    roomy = ClaimClassifier.load(tiny_model, backend="torch", max_length=128)
    assert roomy.max_length == 128
    with pytest.raises(ClaimClfError, match="max_length"):
        ClaimClassifier.load(tiny_model, backend="torch", max_length=4)


def test_load_errors(tmp_path):
    with pytest.raises(ClaimClfError, match="not a model folder"):
        ClaimClassifier.load(tmp_path)
    with pytest.raises(ClaimClfError, match="unknown backend"):
        ClaimClassifier.load(tmp_path, backend="tf")


def test_refuses_pickle_weights(tiny_model, tmp_path):
    import shutil

    bad = tmp_path / "pickled"
    shutil.copytree(tiny_model, bad)
    (bad / "model.safetensors").rename(bad / "pytorch_model.bin")
    with pytest.raises(ClaimClfError, match="safetensors"):
        ClaimClassifier.load(bad, backend="torch")


def test_overfits_tiny_data(tiny_config_file, tmp_path):
    """spaCy-style: a model that cannot learn 40 sentences is broken."""
    cfg = load_config(tiny_config_file, epochs=40, learning_rate=3e-3)
    cfg.dev_file = cfg.train_file
    cfg.test_file = None
    cfg.articles_file = None
    result = train(cfg, tmp_path / "overfit", progress=False)
    assert result.metrics["eval"]["dev"]["accuracy"] >= 0.9
    clf = ClaimClassifier.load(tmp_path / "overfit", backend="torch")
    assert clf.predict(["The army denied any role in the attack."])[0].label == "denial"


def test_training_is_deterministic(tiny_config_file, tmp_path):
    cfg = load_config(tiny_config_file)
    a = train(cfg, tmp_path / "a", progress=False).metrics["eval"]["dev"]
    b = train(cfg, tmp_path / "b", progress=False).metrics["eval"]["dev"]
    assert a["confusion_matrix"] == b["confusion_matrix"]
    pa = ClaimClassifier.load(tmp_path / "a", backend="torch").predict_proba(["Troops moved."])
    pb = ClaimClassifier.load(tmp_path / "b", backend="torch").predict_proba(["Troops moved."])
    np.testing.assert_allclose(pa, pb, atol=1e-6)


def test_restarts_keep_the_best_seed_on_dev_and_reproduce(tiny_config_file, tmp_path):
    """Restarts: one run per seed, the best on dev is kept, and training that seed alone gives the same
    weights (the kept model is reproducible from the config plus the recorded seed)."""
    from claimclf.train import train_restarts

    cfg = load_config(tiny_config_file, epochs=4)
    result = train_restarts(cfg, [3, 11, 7], tmp_path / "best", progress=False)
    table = result.metrics["restarts"]
    assert [r["seed"] for r in table] == [3, 11, 7] and sum(r["kept"] for r in table) == 1
    kept = next(r for r in table if r["kept"])
    assert kept["dev_macro_f1"] == max(r["dev_macro_f1"] for r in table)  # all within the tiny FA budget or none
    saved = json.loads((tmp_path / "best" / "metrics.json").read_text())
    assert saved["restarts"] == table and saved["config"]["seed"] == kept["seed"]
    assert "Restarts:" in (tmp_path / "best" / "README.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]  # the other runs are cleaned up

    alone = train(load_config(tiny_config_file, epochs=4, seed=kept["seed"]), tmp_path / "alone", progress=False)
    assert alone.metrics["eval"]["dev"]["confusion_matrix"] == saved["eval"]["dev"]["confusion_matrix"]
    pa = ClaimClassifier.load(tmp_path / "best", backend="torch").predict_proba(["Troops moved."])
    pb = ClaimClassifier.load(tmp_path / "alone", backend="torch").predict_proba(["Troops moved."])
    np.testing.assert_allclose(pa, pb, atol=1e-6)


def test_restart_rank_puts_the_false_alarm_budget_first():
    from claimclf.train import _dev_rank, train_restarts

    noisy = {"eval": {"dev": {"macro_f1": 0.95, "false_alarm_rate": 0.08}}}
    quiet = {"eval": {"dev": {"macro_f1": 0.90, "false_alarm_rate": 0.02}}}
    assert _dev_rank(quiet, 0.05) > _dev_rank(noisy, 0.05)
    assert _dev_rank(noisy, None) > _dev_rank(quiet, None)
    with pytest.raises(ClaimClfError, match="repeated seed"):
        train_restarts(None, [1, 1])


def test_checkpoint_averaging(tiny_config_file, tiny_base, tmp_path):
    """average_last=N loads the element-wise mean of the last N epoch checkpoints."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForSequenceClassification

    from claimclf.train import average_checkpoints

    def model(seed):
        torch.manual_seed(seed)
        return AutoModelForSequenceClassification.from_pretrained(str(tiny_base), num_labels=3)

    ckpts = tmp_path / "checkpoints"
    states = []
    for step, seed in ((5, 1), (10, 2), (15, 3)):  # checkpoint-5 is older: not averaged
        states.append({k: v.contiguous() for k, v in model(seed).state_dict().items()})
        (ckpts / f"checkpoint-{step}").mkdir(parents=True)
        save_file(states[-1], str(ckpts / f"checkpoint-{step}" / "model.safetensors"))
    target = model(4)
    assert average_checkpoints(target, ckpts, 2) == ["checkpoint-10", "checkpoint-15"]
    name = "classifier.weight"
    torch.testing.assert_close(target.state_dict()[name], (states[1][name] + states[2][name]) / 2)
    with pytest.raises(ClaimClfError, match="found 3 checkpoints, need 4"):
        average_checkpoints(target, ckpts, 4)

    cfg = load_config(tiny_config_file, epochs=3, average_last=2)
    result = train(cfg, tmp_path / "avg", progress=False)
    assert result.metrics["averaged_checkpoints"] and len(result.metrics["averaged_checkpoints"]) == 2
    assert ClaimClassifier.load(tmp_path / "avg", backend="torch").predict(["Troops moved."])[0].label


def test_custom_label_set(tiny_base, tmp_path):
    rows = [("I love it", "pos"), ("great stuff", "pos"), ("awful", "neg"), ("bad bad", "neg"), ("fine", "neu")]
    f = tmp_path / "custom.jsonl"
    f.write_text("".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in rows))
    cfgf = tmp_path / "c.yaml"
    cfgf.write_text(f"base_model: {tiny_base}\ntrain_file: {f}\ndev_file: {f}\nepochs: 1\nbatch_size: 4\n")
    train(load_config(cfgf), tmp_path / "m", progress=False)
    clf = ClaimClassifier.load(tmp_path / "m", backend="torch")
    assert clf.labels == ("neg", "neu", "pos")
    assert clf.negative_label is None
    assert clf.predict(["great"], threshold=0.99)[0].label in {"neg", "neu", "pos"}


def test_lora_training(tiny_config_file, tmp_path):
    cfg = load_config(tiny_config_file, method="lora", lora_r=4)
    train(cfg, tmp_path / "lora", progress=False)
    clf = ClaimClassifier.load(tmp_path / "lora", backend="torch")
    assert clf.predict(["The navy sent warships."])[0].label in DEFAULT_LABELS


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train_file: a.jsonl\ndev_file: b.jsonl\nepochs: -1\n")
    with pytest.raises(ClaimClfError, match=r"bad.yaml: epochs: Input should be greater than 0"):
        load_config(bad)
    bad.write_text("train_file: [unclosed\n")
    with pytest.raises(ClaimClfError, match=r"bad.yaml:\d+: invalid YAML"):
        load_config(bad)
    bad.write_text("train_file: a\ndev_file: b\nepochs: 3\naverage_last: 4\n")
    with pytest.raises(ClaimClfError, match="average_last: 4 checkpoints but only 3 epochs"):
        load_config(bad)
    bad.write_text("train_file: a\ndev_file: b\nmethod: lora\naverage_last: 2\n")
    with pytest.raises(ClaimClfError, match="needs method 'full'"):
        load_config(bad)
    bad.write_text("train_file: a\ndev_file: b\nlearning_rat: 0.1\n")
    with pytest.raises(ClaimClfError, match="learning_rat: Extra inputs are not permitted"):
        load_config(bad)


def test_shipped_config_is_valid():
    cfg = load_config(REPO / "training" / "configs" / "default.yaml")
    assert cfg.base_model == "packaged"
    assert cfg.path(cfg.train_sources[0].file).endswith("training/data/train.jsonl")
    real = [s for s in cfg.train_sources if s.labels]
    assert real and real[0].split == "train" and cfg.dev_file.split == "dev" and cfg.test_file.split == "test"
