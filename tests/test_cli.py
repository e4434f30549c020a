"""The CLI contract: commands, flags, JSONL fields, atomic output, resume, clear errors."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time

import pytest

from claimclf.cli import main

from conftest import DATA, REPO

SEED = REPO / "seeds" / "000_807158935edd99d1.txt"
FIELDS = {"id", "sentence", "start", "end", "text", "label", "score", "from_threshold", "scores", "source", "target"}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_help_on_every_command(capsys):
    for cmd in ([], ["predict"], ["evaluate"], ["train"], ["train-actors"], ["export-onnx"], ["data"], ["data", "check"]):
        with pytest.raises(SystemExit) as exit_:
            main(cmd + ["--help"])
        assert exit_.value.code == 0
        assert "usage: claimclf" in capsys.readouterr().out


def test_predict_seed_jsonl_to_stdout(capsys, tiny_model):
    code, out, _ = run(capsys, "predict", SEED, "--model", tiny_model, "--format", "jsonl")
    assert code == 0
    recs = [json.loads(x) for x in out.splitlines()]
    assert len(recs) == 27
    text = SEED.read_text()
    for i, r in enumerate(recs):
        assert set(r) == FIELDS
        assert r["id"] == SEED.name and r["sentence"] == i
        assert text[r["start"] : r["end"]] == r["text"]
        assert r["label"] == max(r["scores"], key=r["scores"].get)


def test_predict_table_and_csv(capsys, tiny_model, tmp_path):
    code, out, _ = run(capsys, "predict", SEED, "--model", tiny_model, "--format", "table")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["id", "#", "label", "score"]
    assert sum(line.startswith(SEED.name) for line in lines) == 27  # one row per sentence, long ones wrapped
    out_csv = tmp_path / "o.csv"
    code, _, err = run(capsys, "predict", SEED, "--model", tiny_model, "--output", out_csv)
    assert code == 0 and "wrote 27 records" in err
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 27 and "score_denial" in rows[0]


def test_predict_folder_and_jsonl_articles(capsys, tiny_model, tmp_path):
    (tmp_path / "arts").mkdir()
    (tmp_path / "arts" / "one.txt").write_text("The army denied the reports. Rain fell.")
    (tmp_path / "arts" / "two.txt").write_text("HEADLINE\nThe navy sent warships.")
    code, out, _ = run(capsys, "predict", tmp_path / "arts", "--model", tiny_model, "--format", "jsonl")
    recs = [json.loads(x) for x in out.splitlines()]
    assert [(r["id"], r["sentence"]) for r in recs] == [("one.txt", 0), ("one.txt", 1), ("two.txt", 0), ("two.txt", 1)]
    jl = tmp_path / "arts.jsonl"
    jl.write_text(json.dumps({"id": "x1", "text": "Troops moved. Talks began."}) + "\n"
                  + json.dumps({"id": "x2", "text": "Sunday."}) + "\n")
    code, out, _ = run(capsys, "predict", jl, "--model", tiny_model, "--format", "jsonl")
    assert [json.loads(x)["id"] for x in out.splitlines()] == ["x1", "x1", "x2"]


def test_predict_sentences_mode_keeps_ids(capsys, tiny_model, tmp_path):
    f = tmp_path / "s.jsonl"
    f.write_text("".join(json.dumps({"id": f"s{i}", "text": t}) + "\n"
                         for i, t in enumerate(["One. Two. Three.", "The army denied it."])))
    code, out, _ = run(capsys, "predict", "--sentences", f, "--model", tiny_model, "--format", "jsonl")
    recs = [json.loads(x) for x in out.splitlines()]
    assert [r["id"] for r in recs] == ["s0", "s1"]  # one record per line: no segmentation
    assert recs[0]["text"] == "One. Two. Three."


def test_threshold_flag(capsys, tiny_model):
    code, out, _ = run(capsys, "predict", SEED, "--model", tiny_model, "--format", "jsonl", "--threshold", "1")
    assert {json.loads(x)["label"] for x in out.splitlines()} == {"other"}
    with pytest.raises(SystemExit):
        main(["predict", str(SEED), "--threshold", "1.5"])


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"id": "a", "text": "ok"}\n{"id": "b" "text": "x"}\n', "bad.jsonl:2: malformed JSON"),
        ('{"id": "a", "text": ""}\n', "bad.jsonl:1: empty 'text'"),
        ('{"id": "a", "text": "ok"}\n{"id": "a", "text": "again"}\n', "bad.jsonl:2: duplicate id 'a'"),
        (b'{"id": "a", "text": "caf\xe9"}\n', "bad.jsonl:1: not valid UTF-8"),
    ],
)
def test_bad_input_one_line_error_and_no_output(capsys, tiny_model, tmp_path, content, expected):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "out.jsonl"
    code, stdout, err = run(capsys, "predict", bad, "--model", tiny_model, "--output", out)
    assert code == 1
    assert expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and not (tmp_path / "out.jsonl.partial").exists()


def test_missing_inputs_and_models(capsys, tmp_path, tiny_model):
    code, _, err = run(capsys, "predict", tmp_path / "nope.txt", "--model", tiny_model)
    assert code == 1 and "nope.txt: no such file or folder" in err
    code, _, err = run(capsys, "predict", SEED, "--model", tmp_path)
    assert code == 1 and "not a model folder" in err
    code, _, err = run(capsys, "predict", "--model", tiny_model)
    assert code == 1 and "nothing to classify" in err
    code, _, err = run(capsys, "evaluate", "--gold", tmp_path / "none.jsonl", "--model", tiny_model)
    assert code == 1 and "none.jsonl: no such file" in err
    code, _, err = run(capsys, "train", "--config", tmp_path / "none.yaml")
    assert code == 1 and "cannot read config" in err


def test_train_rejects_bad_data_before_loading_a_model(capsys, tmp_path, tiny_base):
    bad = tmp_path / "train.jsonl"
    bad.write_text('{"text": "a", "label": "other"}\n{"text": "b", "label": "threat"}\n')
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"base_model: {tiny_base}\ntrain_file: train.jsonl\ndev_file: train.jsonl\nlabels: "
                   "[accusation, denial, agreement, military_deployment, other]\n")
    code, _, err = run(capsys, "train", "--config", cfg)
    assert code == 1 and "train.jsonl:2: unknown label 'threat'" in err


def test_evaluate_writes_report(capsys, tiny_model, tmp_path):
    gold = REPO / "seeds" / "000_807158935edd99d1.gold.jsonl"
    code, out, _ = run(capsys, "evaluate", "--gold", gold, "--model", tiny_model, "--report-dir", tmp_path / "r")
    assert code == 0
    assert "macro-F1" in out and "lenient accuracy" in out and "false-alarm rate" in out
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["n"] == 27
    assert (tmp_path / "r" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    report = (tmp_path / "r" / "report.md").read_text()
    assert "| class | precision | recall | F1 | support |" in report
    errors = [json.loads(x) for x in (tmp_path / "r" / "errors.jsonl").open()]
    assert len(errors) == round(27 * (1 - metrics["accuracy"]))
    assert set(errors[0]) >= {"text", "gold", "predicted", "score"}


def test_evaluate_articles_file(capsys, tiny_model):
    code, out, _ = run(capsys, "evaluate", "--gold", DATA / "tiny_articles.jsonl", "--model", tiny_model)
    assert code == 0 and "segmentation exact match: 1.000" in out


def test_train_command(capsys, tiny_config_file, tmp_path):
    code, out, err = run(capsys, "train", "--config", tiny_config_file, "--output", tmp_path / "m", "--epochs", "1",
                         "--quiet")
    assert code == 0 and "model written to" in out
    assert "%|" not in err and "it/s]" not in err  # --quiet: no progress bars (the trainer's, datasets', the head's)
    assert (tmp_path / "m" / "model.safetensors").exists()
    assert not list(tmp_path.glob("m.partial*"))


def test_train_seeds_option(capsys, tiny_config_file, tmp_path):
    code, out, _ = run(capsys, "train", "--config", tiny_config_file, "--output", tmp_path / "m", "--epochs", "1",
                       "--seeds", "5", "6", "--quiet")
    assert code == 0 and "seed 5: dev macro-F1" in out and "seed 6: dev macro-F1" in out
    assert out.count("(kept)") == 1 and (tmp_path / "m" / "model.safetensors").exists()
    with pytest.raises(SystemExit) as exc:  # --seed and --seeds exclude each other
        run(capsys, "train", "--config", tiny_config_file, "--seed", "1", "--seeds", "2", "3")
    assert exc.value.code == 2


def test_resume_after_interruption_matches_full_run(tiny_model, tmp_path, monkeypatch):
    """Interrupt a run after some chunks (and tear its last line), resume, compare."""
    from claimclf import ClaimClassifier
    from claimclf.predict import run_predict

    arts = tmp_path / "arts.jsonl"
    arts.write_text("".join(json.dumps({"id": f"a{i}", "text": f"The army denied report {i}. Rain fell on day {i}. "
                                        "The navy sent warships."}) + "\n" for i in range(40)))
    clf = ClaimClassifier.load(tiny_model, backend="torch")
    full = tmp_path / "full.jsonl"
    run_predict(clf, [arts], output=full, chunk_size=7)
    out = tmp_path / "out.jsonl"
    calls = {"n": 0}
    real = clf.predict

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(clf, "predict", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_predict(clf, [arts], output=out, chunk_size=7)
    partial = tmp_path / "out.jsonl.partial"
    assert not out.exists() and partial.exists()
    with open(partial, "a") as fh:
        fh.write('{"id": "a9", "sent')  # a torn line, as a kill mid-write leaves
    monkeypatch.setattr(clf, "predict", real)
    stats = run_predict(clf, [arts], output=out, chunk_size=7, resume=True)
    assert stats.skipped == 28
    assert out.read_text() == full.read_text()
    assert not partial.exists()


def test_resume_after_kill(tiny_model, tmp_path):
    """A real SIGKILL of the CLI midway, then --resume: no record lost or duplicated."""
    arts = tmp_path / "big.jsonl"
    arts.write_text("".join(json.dumps({"id": f"a{i}", "text": " ".join(
        f"Sentence {j} of article {i} says the army denied the reports." for j in range(20))}) + "\n"
        for i in range(600)))
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "claimclf.cli", "predict", str(arts), "--model", str(tiny_model),
           "--output", str(out), "--backend", "torch", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    partial = tmp_path / "out.jsonl.partial"
    deadline = time.time() + 120
    while time.time() < deadline and (not partial.exists() or partial.stat().st_size < 50_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert partial.exists() and not out.exists()
    done_before = sum(1 for _ in partial.open())
    assert 0 < done_before < 12_000
    subprocess.run(cmd + ["--resume"], check=True, stdout=subprocess.DEVNULL)
    recs = [json.loads(x) for x in out.open()]
    keys = [(r["id"], r["sentence"]) for r in recs]
    assert len(keys) == 12_000 and len(set(keys)) == 12_000
    assert keys == [(f"a{i}", j) for i in range(600) for j in range(20)]


def test_data_check_cli(capsys, tmp_path):
    code, out, _ = run(capsys, "data", "check", DATA / "tiny_train.jsonl", DATA / "tiny_dev.jsonl")
    assert code == 0 and "tiny_train.jsonl" in out
    leak = tmp_path / "leak.jsonl"
    leak.write_text('{"id": "x", "text": "The minister accused the rebels of shelling the market.", "label": "accusation"}\n')
    code, out, _ = run(capsys, "data", "check", DATA / "tiny_train.jsonl", leak)
    assert code == 1 and "duplicate text" in out


def test_cli_starts_fast_without_torch():
    """--help and argument errors never import torch or transformers."""
    code = ("import sys, claimclf.cli as c\n"
            "try:\n    c.main(['predict', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'\n")
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)


def test_warnings_are_one_line_without_source_code(capsys, tiny_model, tmp_path):
    """A sentence over the model's max_length is truncated with a warning: one `claimclf: warning:` line,
    not Python's two-line format with the file, line number and source code."""
    long = tmp_path / "long.txt"
    long.write_text("The minister accused the rebels of " + "shelling the market and " * 40 + "the port.\n",
                    encoding="utf-8")
    code, out, err = run(capsys, "predict", long, "--model", tiny_model, "--format", "jsonl")
    assert code == 0 and len(out.splitlines()) == 1
    lines = [line for line in err.splitlines() if "truncated" in line]
    assert lines and all(line.startswith("claimclf: warning: ") for line in lines)
    assert "UserWarning" not in err and ".py:" not in err and "self._run(" not in err
