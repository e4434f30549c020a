"""Never lose a user's data, give the same answer every time, refuse what is unsafe, and fail
with one line instead of a traceback. Each test names the case it covers."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil

import numpy as np
import pytest

from claimclf import ClaimClassifier
from claimclf.cli import main
from claimclf.errors import ClaimClfError
from claimclf.predict import run_predict

from conftest import DATA, REPO

SEED = REPO / "seeds" / "000_807158935edd99d1.txt"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def articles(path, n=12, extra=""):
    path.write_text("".join(json.dumps({"id": f"a{i}", "text": f"The army denied report {i}. Rain fell on day {i}."
                                        f" The navy sent warships.{extra}"}) + "\n" for i in range(n)),
                    encoding="utf-8")
    return path


@pytest.fixture()
def tclf(tiny_model):
    return ClaimClassifier.load(tiny_model, backend="torch")


# ------------------------------------------------------------- 1. output that destroys data


@pytest.mark.parametrize("name", ["in.jsonl", "in.txt"])
def test_output_that_is_an_input_is_refused(capsys, tiny_model, tmp_path, name):
    src = tmp_path / name
    if name.endswith(".jsonl"):
        articles(src)
    else:
        src.write_text(SEED.read_text(), encoding="utf-8")
    before = src.read_bytes()
    code, _, err = run(capsys, "predict", src, "-o", src, "--model", tiny_model)
    assert code == 1 and "is also an input" in err and str(src) in err
    assert src.read_bytes() == before


def test_output_that_is_not_a_regular_file_is_refused(capsys, tiny_model, tmp_path):
    link = tmp_path / "link.jsonl"
    target = tmp_path / "kept.jsonl"
    target.write_text("keep me\n")
    link.symlink_to(target)
    for out, message in ((link, "symbolic link"), (tmp_path, "is a folder"), ("/dev/null", "not a regular file")):
        code, _, err = run(capsys, "predict", SEED, "-o", out, "--model", tiny_model)
        assert code == 1 and message in err and str(out) in err, err
    assert link.is_symlink() and target.read_text() == "keep me\n"
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_unwritable_output_fails_before_any_work(capsys, tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    loaded = []
    monkeypatch.setattr(ClaimClassifier, "load", classmethod(lambda *a, **k: loaded.append(1)))
    code, _, err = run(capsys, "predict", SEED, "-o", blocker / "out.jsonl")
    assert code == 1 and "cannot" in err and str(blocker) in err
    assert not loaded  # refused before the model was loaded


# ------------------------------------------------------------- 2. resume trusts only its own partial


def _interrupted(clf, arts, out, monkeypatch, fmt="jsonl", **kw):
    calls = {"n": 0}
    real = clf.predict

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(clf, "predict", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_predict(clf, [arts], output=out, chunk_size=5, fmt=fmt, **kw)
    monkeypatch.setattr(clf, "predict", real)
    return out.with_name(out.name + ".partial")


def test_resume_refuses_a_partial_from_other_inputs_or_options(tclf, tmp_path, monkeypatch):
    arts = articles(tmp_path / "a.jsonl")
    other = articles(tmp_path / "b.jsonl", extra=" Other text.")
    out = tmp_path / "out.jsonl"
    partial = _interrupted(tclf, arts, out, monkeypatch)
    before = partial.read_bytes()
    with pytest.raises(ClaimClfError, match=r"changed: the inputs"):
        run_predict(tclf, [other], output=out, resume=True)
    with pytest.raises(ClaimClfError, match="--threshold"):
        run_predict(tclf, [arts], output=out, resume=True, threshold=0.7)
    assert partial.read_bytes() == before  # refused, untouched
    stats = run_predict(tclf, [arts], output=out, resume=True, chunk_size=5)
    assert stats.skipped == 10


def test_resume_refuses_garbage_without_truncating(tclf, tmp_path, monkeypatch):
    arts = articles(tmp_path / "a.jsonl")
    out = tmp_path / "out.jsonl"
    partial = _interrupted(tclf, arts, out, monkeypatch)
    garbage = os.urandom(300) + b"\n" + os.urandom(50)
    partial.write_bytes(garbage)
    with pytest.raises(ClaimClfError, match="cannot resume"):
        run_predict(tclf, [arts], output=out, resume=True)
    assert partial.read_bytes() == garbage
    partial.unlink()
    partial.with_name(partial.name + ".json").unlink()
    partial.write_text('{"id": "a0"}\n')  # a partial with no record of its run
    with pytest.raises(ClaimClfError, match="no record of the run"):
        run_predict(tclf, [arts], output=out, resume=True)


def test_resume_with_a_finished_output_of_other_inputs_is_refused(tclf, tmp_path):
    arts = articles(tmp_path / "a.jsonl")
    other = articles(tmp_path / "b.jsonl", n=5)
    out = tmp_path / "out.jsonl"
    run_predict(tclf, [other], output=out)
    before = out.read_bytes()
    with pytest.raises(ClaimClfError, match="not the finished output of these inputs"):
        run_predict(tclf, [arts], output=out, resume=True)
    assert out.read_bytes() == before
    stats = run_predict(tclf, [other], output=out, resume=True)
    assert stats.complete_already and out.read_bytes() == before


# ------------------------------------------------------------- 3. record boundaries of the format


def test_csv_resume_cuts_a_torn_multiline_record_at_the_record_boundary(tclf, tmp_path, monkeypatch):
    arts = tmp_path / "a.jsonl"
    arts.write_text("".join(json.dumps({"id": f"a{i}", "text": f"Heading {i}\nThe army denied report {i}.\n"
                                        "=SUM(A1) rain fell."}) + "\n" for i in range(12)), encoding="utf-8")
    full = tmp_path / "full.csv"
    run_predict(tclf, [arts], output=full, fmt="csv", sentences=False)
    out = tmp_path / "out.csv"
    partial = _interrupted(tclf, arts, out, monkeypatch, fmt="csv")
    # a kill mid-write inside a quoted field that holds a newline
    with open(partial, "a", encoding="utf-8", newline="") as fh:
        fh.write('a9,0,0,20,"Heading 9\nThe army')
    run_predict(tclf, [arts], output=out, fmt="csv", resume=True, chunk_size=5)
    assert out.read_bytes() == full.read_bytes()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_with_unicode_line_separators(tclf, tmp_path, monkeypatch, fmt):
    arts = articles(tmp_path / "a.jsonl", extra=" Line\u2028separator and next\x85line.")
    full = tmp_path / f"full.{fmt}"
    run_predict(tclf, [arts], output=full, fmt=fmt)
    assert "\u2028" in full.read_text(encoding="utf-8") and "\x85" in full.read_text(encoding="utf-8")
    out = tmp_path / f"out.{fmt}"
    _interrupted(tclf, arts, out, monkeypatch, fmt=fmt)
    run_predict(tclf, [arts], output=out, fmt=fmt, resume=True, chunk_size=5)
    assert out.read_bytes() == full.read_bytes()


# ------------------------------------------------------------- 4. same sentence, same scores


def test_default_backend_scores_do_not_depend_on_the_batch(tiny_model, tmp_path):
    from claimclf.segment import segment

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    clf = ClaimClassifier.load(model, backend="onnx")  # static int8 (+ fp32 for unsure sentences), any CPU
    assert clf._refine is not None and (model / "onnx" / "model_quantized.onnx").exists()
    texts = [s.text for s in segment(SEED.read_text())] + [json.loads(x)["text"] for x in
                                                            open(DATA / "tiny_dev.jsonl")]
    alone = np.vstack([clf.predict_proba([t]) for t in texts])
    for batch_size in (1, 3, 8, 64):
        np.testing.assert_allclose(clf.predict_proba(texts, batch_size=batch_size), alone, atol=1e-4)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(texts))
    shuffled = clf.predict_proba([texts[i] for i in order], batch_size=5)
    np.testing.assert_allclose(shuffled, alone[order], atol=1e-4)
    clf.refine_below = 0.0  # int8 alone is batch-invariant too (fixed activation scales)
    alone8 = np.vstack([clf.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(clf.predict_proba(texts, batch_size=16), alone8, atol=1e-4)


def test_auto_uses_int8_only_where_the_cpu_has_int8_dot_products(tiny_model, monkeypatch):
    monkeypatch.setenv("CLAIMCLF_INT8", "0")
    fp32 = ClaimClassifier.load(tiny_model)
    assert fp32.backend == "onnx" and fp32._refine is None  # the fp32 graph alone
    monkeypatch.setenv("CLAIMCLF_INT8", "1")
    assert ClaimClassifier.load(tiny_model)._refine is not None  # int8, unsure sentences re-scored in fp32
    texts = ["The army denied the report.", "Rain fell on Tuesday."]
    np.testing.assert_allclose(fp32.predict_proba(texts), ClaimClassifier.load(tiny_model, backend="torch")
                               .predict_proba(texts), atol=1e-4)


# ------------------------------------------------------------- 5. ids


def test_duplicate_ids_across_files_and_default_ids(capsys, tiny_model, tmp_path):
    a = tmp_path / "x.jsonl"
    a.write_text(json.dumps({"id": "x-2", "text": "One."}) + "\n" + json.dumps({"text": "Two."}) + "\n")
    code, _, err = run(capsys, "predict", a, "--model", tiny_model)
    assert code == 1 and "x.jsonl:2: duplicate id 'x-2'" in err
    b1, b2 = tmp_path / "b1.jsonl", tmp_path / "b2.jsonl"
    b1.write_text(json.dumps({"id": "same", "text": "One."}) + "\n")
    b2.write_text(json.dumps({"id": "same", "text": "Two."}) + "\n")
    code, _, err = run(capsys, "predict", b1, b2, "--model", tiny_model)
    assert code == 1 and "duplicate id 'same'" in err and "b2.jsonl:1" in err
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    (tmp_path / "d1" / "story.txt").write_text("One.")
    (tmp_path / "d2" / "story.txt").write_text("Two.")
    code, _, err = run(capsys, "predict", tmp_path / "d1" / "story.txt", tmp_path / "d2" / "story.txt",
                       "--model", tiny_model)
    assert code == 1 and "duplicate id 'story.txt'" in err


def test_folders_recurse_with_relative_ids_and_no_links_out(capsys, tiny_model, tmp_path):
    root = tmp_path / "feed"
    (root / "2026" / "01").mkdir(parents=True)
    (root / "top.txt").write_text("Top story.")
    (root / "2026" / "01" / "story.txt").write_text("Deep story.")
    outside = tmp_path / "secret.txt"
    outside.write_text("Outside the folder.")
    (root / "link.txt").symlink_to(outside)
    code, out, _ = run(capsys, "predict", root, "--model", tiny_model, "--format", "jsonl")
    assert code == 0
    ids = [json.loads(x)["id"] for x in out.splitlines()]
    assert ids == ["2026/01/story.txt", "top.txt"]


# ------------------------------------------------------------- security


def test_model_folders_with_custom_code_are_refused(capsys, tiny_model, tmp_path, tiny_base):
    bad = tmp_path / "remote"
    shutil.copytree(tiny_model, bad)
    assert (bad / "onnx").is_dir()
    cfg = json.loads((bad / "config.json").read_text())
    cfg["auto_map"] = {"AutoModelForSequenceClassification": "evil.Model"}
    (bad / "config.json").write_text(json.dumps(cfg))
    for backend in ("torch", "auto", "onnx"):  # the ONNX path runs no model code, but such a folder is no claimclf model
        code, _, err = run(capsys, "predict", SEED, "--model", bad, "--backend", backend)
        assert code == 1 and "custom code" in err, backend
    base = tmp_path / "base"
    shutil.copytree(tiny_base, base)
    (base / "tokenizer_config.json").write_text(json.dumps({"auto_map": {"AutoTokenizer": ["evil.Tok", None]}}))
    code, err = _train_on(capsys, base, tmp_path)
    assert code == 1 and "custom code" in err


def _train_on(capsys, base, tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(f"base_model: {base}\ntrain_file: {DATA / 'tiny_train.jsonl'}\n"
                        f"dev_file: {DATA / 'tiny_dev.jsonl'}\nepochs: 1\n")
    code, _, err = run(capsys, "train", "--config", cfg_file, "--output", tmp_path / "o", "-q")
    return code, err


def test_train_refuses_a_pickled_base_model(capsys, tiny_base, tmp_path):
    base = tmp_path / "base"
    shutil.copytree(tiny_base, base)
    (base / "model.safetensors").rename(base / "pytorch_model.bin")
    code, err = _train_on(capsys, base, tmp_path)
    assert code == 1 and "only pickled weights" in err


def test_a_model_without_a_trained_head_is_refused(capsys, tiny_base, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(tiny_base, bare)
    cfg = json.loads((bare / "config.json").read_text())
    cfg["id2label"] = {"0": "a", "1": "other"}
    (bare / "config.json").write_text(json.dumps(cfg))
    code, _, err = run(capsys, "predict", SEED, "--model", bare)
    assert code == 1 and "not a trained classifier" in err


def test_csv_cells_are_escaped_against_formulas(tiny_model, tmp_path):
    sents = tmp_path / "s.jsonl"
    sents.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in
                             enumerate(["=HYPERLINK(\"http://x\")", "+1 rain", "-2 rain", "@SUM(A1)", "Plain."])))
    out = tmp_path / "o.csv"
    assert main(["predict", "--sentences", str(sents), "-o", str(out), "--model", str(tiny_model), "-q"]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["text"] for r in rows] == ["'=HYPERLINK(\"http://x\")", "'+1 rain", "'-2 rain", "'@SUM(A1)", "Plain."]


def test_table_never_sends_control_characters_and_wraps(capsys, tiny_model, tmp_path):
    sents = tmp_path / "s.jsonl"
    long = "The ministry said " + "very " * 40 + "long sentence."
    sents.write_text(json.dumps({"id": "e\x1b[31m", "text": "Red \x1b[31malert\x07 \u202eevil"}) + "\n"
                     + json.dumps({"id": "long", "text": long}) + "\n")
    code, out, _ = run(capsys, "predict", "--sentences", sents, "--model", tiny_model, "--format", "table")
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "very very" in out and out.count("\n") >= 5  # the long sentence is wrapped, whole
    text_lines = [line for line in out.splitlines() if "»" not in line]  # not the "» source → target" line
    assert "".join("".join(text_lines).split()).count("very") == 40


def test_table_shows_the_act_a_threshold_turned_into_other():
    from claimclf.predict import TableWriter

    scores = {"accusation": 0.02, "denial": 0.01, "agreement": 0.01, "military_deployment": 0.906, "other": 0.054}
    below = {"id": "a", "sentence": 0, "text": "Troops moved.", "label": "other", "score": 0.054, "scores": scores,
             "from_threshold": True}
    assert TableWriter.shown(below) == ("other (military_deployment)", "0.906*")
    sure = {**below, "label": "military_deployment", "score": 0.9996, "from_threshold": False}
    assert TableWriter.shown(sure) == ("military_deployment", ">0.999 ")
    buf = io.StringIO()
    writer = TableWriter(buf, tuple(scores))
    writer.header()
    writer.write([below, sure])
    assert "other (military_deployment)  0.906*  Troops moved." in buf.getvalue()  # the label whole, never cut


# ------------------------------------------------------------- tracebacks become one-line errors


@pytest.mark.parametrize("content, message", [
    ('{"id": 1, "text": "\\ud800 lone"}\n', "unpaired surrogate"),
    ('{"id": ' + "9" * 5000 + ', "text": "a"}\n', "digits"),
    ("[" * 100_000 + "]" * 100_000 + "\n", "nested too deeply"),
    ("", "the file is empty"),
])
def test_bad_json_is_one_line(capsys, tiny_model, tmp_path, content, message):
    f = tmp_path / "in.jsonl"
    f.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "predict", f, "--model", tiny_model)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1


def test_fifo_and_config_without_labels(capsys, tiny_model, tmp_path):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "predict", fifo, "--model", tiny_model)
    assert code == 1 and "FIFO" in err
    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    cfg = json.loads((model / "config.json").read_text())
    del cfg["id2label"]
    (model / "config.json").write_text(json.dumps(cfg))
    code, _, err = run(capsys, "predict", SEED, "--model", model)
    assert code == 1 and "id2label" in err


def test_python_api_checks_batch_size_and_threshold(tclf):
    with pytest.raises(ClaimClfError, match="batch_size"):
        tclf.predict(["Rain fell."], batch_size=-1)
    with pytest.raises(ClaimClfError, match="threshold"):
        tclf.predict(["Rain fell."], threshold=1.5)
    with pytest.raises(ClaimClfError, match="threshold"):
        tclf.decide(np.array([[0.2, 0.2, 0.2, 0.2, 0.2]]), threshold=-0.1)


def test_empty_txt_and_empty_jsonl_agree(capsys, tiny_model, tmp_path):
    (tmp_path / "e.txt").write_text("  \n")
    (tmp_path / "e.jsonl").write_text("")
    for name in ("e.txt", "e.jsonl"):
        code, _, err = run(capsys, "predict", tmp_path / name, "--model", tiny_model)
        assert code == 1 and "empty" in err


# ------------------------------------------------------------- long lines


def test_long_lines_are_segmented_in_bounded_windows(monkeypatch):
    from claimclf import segment as seg

    monkeypatch.setattr(seg, "LONG_LINE", 500)
    monkeypatch.setattr(seg, "WINDOW", 200)
    calls = []
    real = seg._segmenter()

    class Spy:
        def segment(self, text):
            calls.append(len(text))
            return real.segment(text)

    monkeypatch.setattr(seg, "_segmenter", lambda: Spy())
    words = "Unbreakablewordwithoutspaces" * 10
    text = " ".join(f"Sentence number {i} says the army moved north." for i in range(200)) + " " + words + " End."
    sents = seg.segment(text)
    assert max(calls) <= 200  # pysbd never sees more than a window
    assert all(text[s.start : s.end] == s.text for s in sents)
    assert [s.text for s in sents[:3]] == [f"Sentence number {i} says the army moved north." for i in range(3)]
    assert sum(s.text.count("Sentence number") for s in sents) == 200
    for s in sents:  # never a cut inside a word (except a word longer than a window)
        assert s.start == 0 or text[s.start - 1] == " " or len(words) > 200


# ------------------------------------------------------------- smaller things


def test_trained_model_files_are_readable_and_card_is_about_the_model(tiny_model):
    st = os.stat(tiny_model / "model.safetensors")
    assert st.st_mode & 0o044 == 0o044  # group and others can read
    card = (tiny_model / "README.md").read_text()
    assert "claimclf default model" not in card and tiny_model.name in card


def test_a_model_that_learned_nothing_warns(tiny_config_file, tmp_path, capsys):
    from claimclf.config import load_config
    from claimclf.train import train

    with pytest.warns(UserWarning, match="near chance"):
        result = train(load_config(tiny_config_file, epochs=1, learning_rate=1e-7), tmp_path / "m", progress=False)
    assert "near chance" in result.metrics["warnings"][0]
    err = capsys.readouterr().err
    assert "Map" not in err and "%|" not in err  # -q: no progress bars
