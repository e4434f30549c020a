"""Who did what to whom: span decoding, country codes, the actor head, its output contract and scores."""

from __future__ import annotations

import csv
import io
import json
import shutil

import numpy as np
import pytest

from claimclf import ClaimClassifier
from claimclf.actors import Actor, best_span, breaker_tokens, channel, decode_actors, token_targets
from claimclf.baselines import first_names_baseline
from claimclf.countries import TABLE, country_code
from claimclf.data import Example
from claimclf.errors import ClaimClfError
from claimclf.evaluate import evaluate, normalize_span, score_actors, span_match
from claimclf.predict import CSV_FIELDS, CsvWriter, TableWriter, run_predict

from conftest import DATA, REPO

SEED = REPO / "seeds" / "000_807158935edd99d1.txt"


# ------------------------------------------------------------------ countries


@pytest.mark.parametrize("text, code", [
    ("the Turkish foreign ministry", "TUR"), ("Ankara", "TUR"), ("Turkish troops", "TUR"), ("Turkey's army", "TUR"),
    ("Türkiye", "TUR"), ("U.S. officials", "USA"), ("the United States", "USA"), ("Washington", "USA"),
    ("the Kremlin", "RUS"), ("Russian President Vladimir Putin", "RUS"), ("Britain", "GBR"), ("UK", "GBR"),
    ("Pyongyang", "PRK"), ("South Korea", "KOR"), ("Côte d'Ivoire", "CIV"), ("Ivory Coast", "CIV"),
    ("Kyiv", "UKR"), ("Kiev", "UKR"), ("Russia and Turkey", "RUS"), ("Democratic Republic of Congo", "COD"),
    ("NATO", None), ("the EU", None), ("Hamas", None), ("the rebels", None), ("us", None), ("Latin America", None),
    ("Mevlut Cavusoglu", None), ("New Jersey", None), ("family reunion", None), ("", None), (None, None),
])
def test_country_codes(text, code):
    assert country_code(text) == code


def test_country_table_is_small_valid_and_unambiguous():
    import pycountry

    from claimclf import countries

    path = REPO / "src" / "claimclf" / TABLE
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#") and not line.startswith("code\t")]
    assert 150 <= len(rows) <= 220 and path.stat().st_size < 40_000
    codes = [r[0] for r in rows]
    assert len(set(codes)) == len(codes)
    assert all(pycountry.countries.get(alpha_3=c) is not None for c in codes)
    seen = {}
    for r in rows:
        for col in r[1:]:
            for name in filter(None, (n.strip() for n in col.split("|"))):
                key = countries._key(countries._words(name))
                assert seen.setdefault(key, r[0]) == r[0], f"{name!r} is in two rows"


# ------------------------------------------------------------------ decoding


def test_best_span_and_null():
    start = np.array([0.0, 5.0, 1.0, 0.0])
    end = np.array([0.0, 0.0, 4.0, 1.0])
    valid = np.array([False, True, True, True])
    assert best_span(start, end, valid, max_tokens=5) == (1, 2)
    assert best_span(start, end, valid, max_tokens=1) == (1, 1)  # at most one token
    assert best_span(start, end, valid, max_tokens=5, null_bias=20.0) is None  # [CLS] wins
    assert best_span(start, end, np.zeros(4, bool), max_tokens=5) is None


def test_decode_actors_widens_to_words_and_codes_countries():
    sentence = "Turkey accused Greece of provocations."
    #           [CLS] Turkey accused Gre ##ece of provocations . [SEP]
    offsets = [(0, 0), (0, 6), (7, 14), (15, 18), (18, 21), (22, 24), (25, 37), (37, 38), (0, 0)]
    logits = np.full((len(offsets), 16), -5.0)
    act = 0
    logits[1, channel(act, "source", "start")] = logits[1, channel(act, "source", "end")] = 5
    logits[4, channel(act, "target", "start")] = logits[4, channel(act, "target", "end")] = 5  # mid-word start
    src, tgt = decode_actors(sentence, logits, offsets, act)
    assert src == Actor("Turkey", 0, 6, "TUR")
    assert tgt == Actor("Greece", 15, 21, "GRC")
    # another act's channels say nothing: both null
    assert decode_actors(sentence, logits, offsets, 1) == (None, None)


def test_span_never_runs_across_a_verb_of_saying():
    sentence = "Jean-Marc Simon, told Radio France that Gbagbo lied."
    #           [CLS] Jean - Marc Simon , told Radio France that Gbagbo lied . [SEP]
    offsets = [(0, 0), (0, 4), (4, 5), (5, 9), (10, 15), (15, 16), (17, 21), (22, 27), (28, 34), (35, 39),
               (40, 46), (47, 51), (51, 52), (0, 0)]
    blocked = breaker_tokens(sentence, np.array(offsets))
    assert blocked.tolist() == [i == 6 for i in range(len(offsets))]  # "told" only
    logits = np.full((len(offsets), 16), -5.0)
    act = 0
    logits[1, channel(act, "source", "start")] = 5
    logits[8, channel(act, "source", "end")] = 5  # the head's best end is past "told"
    logits[4, channel(act, "source", "end")] = 3  # the next best ends the name
    logits[10, channel(act, "target", "start")] = logits[10, channel(act, "target", "end")] = 5
    src, tgt = decode_actors(sentence, logits, offsets, act)
    assert src == Actor("Jean-Marc Simon", 0, 15, None)
    assert tgt.text == "Gbagbo"
    # without the verb the long span stands; a capitalised "Said" (a name) is no verb
    assert not breaker_tokens("Said Abdullo Nuri accused", np.array([(0, 4), (5, 12)])).any()
    start, end, valid = np.zeros(4), np.zeros(4), np.array([False, True, True, True])
    start[1], end[3] = 5.0, 5.0
    assert best_span(start, end, valid, max_tokens=5) == (1, 3)
    assert best_span(start, end, valid, max_tokens=5, blocked=np.array([False, False, True, False])) in {(1, 1), (3, 3)}


def test_token_targets():
    offsets = [(0, 0), (0, 6), (7, 14), (15, 18), (18, 21), (0, 0)]
    assert token_targets(offsets, {"start": 15, "end": 21}) == (3, 4)
    assert token_targets(offsets, None) == (0, 0)
    assert token_targets(offsets, {"start": 40, "end": 45}) == (0, 0)  # cut off by truncation


def test_rule_baseline():
    text = "Maputo points the finger at armed elements of Renamo for the attacks."
    s, t = first_names_baseline(text, "accusation")
    assert text[s[0]:s[1]] == "Maputo" and text[t[0]:t[1]] == "Renamo"
    s, t = first_names_baseline("Russia sent troops to Syria.", "military_deployment")
    assert (s, t) == ((0, 6), (22, 27))


# ------------------------------------------------------------------ scoring


def test_span_match_and_normalisation():
    assert normalize_span("The Turkish Foreign Ministry,") == "turkish foreign ministry"
    assert span_match("the Kremlin", "Kremlin") == (1.0, 1.0)
    assert span_match(None, None) == (1.0, 1.0)
    assert span_match("Russia", None) == (0.0, 0.0)
    em, f1 = span_match("Turkish Foreign Minister", "Turkish Foreign Minister Mevlut Cavusoglu")
    assert em == 0.0 and f1 == pytest.approx(2 * 1 * 0.6 / 1.6)


def test_score_actors_counts_roles_and_countries():
    gold = [Example("a", "Turkey accused Greece.", "accusation",
                    meta={"source": {"text": "Turkey", "start": 0, "end": 6, "country": "TUR"},
                          "target": {"text": "Greece", "start": 15, "end": 21, "country": "GRC"}}),
            Example("b", "Rebels denied it.", "denial",
                    meta={"source": {"text": "Rebels", "start": 0, "end": 6, "country": None}, "target": None})]
    pred = [(Actor("Turkey", 0, 6, "TUR"), Actor("Greece", 15, 21, "GRC")), (Actor("Rebels", 0, 6), None)]
    m = score_actors(gold, pred, end_to_end=[pred[0], (None, None)], baseline=[(None, None), (None, None)])
    assert m["source"]["exact_match"] == 1.0 and m["target"]["exact_match"] == 1.0
    assert m["end_to_end"]["source"]["exact_match"] == 0.5
    assert m["baseline"]["target"]["exact_match"] == 0.5  # the null target is right
    assert m["country"] == {"accuracy": 1.0, "n": 2, "lookup_accuracy": 1.0, "coded_where_gold_has_none": 0.0,
                            "n_without_country": 1}
    assert m["by_act"]["denial"] == {"n": 1, "source": {"exact_match": 1.0, "overlap_f1": 1.0},
                                     "target": {"exact_match": 1.0, "overlap_f1": 1.0}}
    assert m["by_act"]["accusation"]["target"]["exact_match"] == 1.0


# ------------------------------------------------------------------ the head in a model


def test_tiny_model_has_an_actor_head(tiny_model):
    meta = json.loads((tiny_model / "claimclf.json").read_text())
    assert meta["actors"]["acts"] == ["accusation", "denial", "agreement", "military_deployment"]
    assert meta["actors"]["layers"] == [1, 2]  # the middle and the last of 2 layers
    assert (tiny_model / "actors.safetensors").exists()
    metrics = json.loads((tiny_model / "metrics.json").read_text())
    assert metrics["actor_head"]["sentences"] == 32
    assert metrics["actor_head"]["loss_by_epoch"][-1] < metrics["actor_head"]["loss_by_epoch"][0]


def test_predictions_carry_actors_only_for_acts(clf):
    texts = ["The navy sent two warships to the gulf.", "The minister accused the rebels of shelling the market.",
             "The team won the cup final."]
    preds = clf.predict(texts, threshold=0.0)
    for text, p in zip(texts, preds):
        if p.label == "other":
            assert p.source is None and p.target is None
        for a in (p.source, p.target):
            if a is not None:
                assert text[a.start:a.end] == a.text and a.text.strip() == a.text
    # the head learned the training sentences: "The navy" -> "the gulf"
    assert preds[0].label == "military_deployment"
    assert (preds[0].source.text, preds[0].target.text) == ("The navy", "the gulf")


def test_actors_do_not_depend_on_the_batch(clf):
    texts = [json.loads(x)["text"] for x in (DATA / "tiny_train.jsonl").open()]
    alone = [clf.predict([t], threshold=0.0)[0] for t in texts]
    together = clf.predict(texts, threshold=0.0, batch_size=7)
    assert [(p.source, p.target) for p in alone] == [(p.source, p.target) for p in together]


def test_extract_actors_for_given_acts(clf):
    out = clf.extract_actors(["The army deployed troops to the border.", "Heavy rain."], ["military_deployment", None])
    assert out[1] == (None, None)
    assert out[0][1] is not None and out[0][1].text == "the border"
    with pytest.raises(ClaimClfError, match="2 sentences but 1 acts"):
        clf.extract_actors(["a", "b"], ["denial"])


def test_model_without_head_gives_null_actors_and_a_clear_error(tiny_model, tmp_path):
    plain = tmp_path / "plain"
    shutil.copytree(tiny_model, plain)
    shutil.rmtree(plain / "onnx", ignore_errors=True)
    (plain / "actors.safetensors").unlink()
    meta = json.loads((plain / "claimclf.json").read_text())
    meta.pop("actors")
    (plain / "claimclf.json").write_text(json.dumps(meta))
    c = ClaimClassifier.load(plain, backend="torch")
    assert not c.has_actors
    assert all(p.source is None and p.target is None for p in c.predict(["The navy sent warships."], threshold=0))
    with pytest.raises(ClaimClfError, match="no actor head"):
        c.extract_actors(["x"], ["denial"])
    # claimclf.json naming a head whose file is missing: a one-line error, not random spans
    meta["actors"] = json.loads((tiny_model / "claimclf.json").read_text())["actors"]
    (plain / "claimclf.json").write_text(json.dumps(meta))
    with pytest.raises(ClaimClfError, match="actors.safetensors: missing"):
        ClaimClassifier.load(plain, backend="torch")


def test_save_load_keeps_the_head(clf, tmp_path):
    clf.save(tmp_path / "copy")
    again = ClaimClassifier.load(tmp_path / "copy", backend="torch")
    texts = ["The army moved tanks to the north.", "Police blamed the militia for the bombing."]
    assert [(p.source, p.target) for p in again.predict(texts, threshold=0)] == \
        [(p.source, p.target) for p in clf.predict(texts, threshold=0)]


def test_onnx_graph_computes_both_heads(tiny_model, tmp_path):
    from claimclf.onnx_export import export_onnx

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    export_onnx(model, quantize=False)
    onnx_clf = ClaimClassifier.load(model, backend="onnx")
    torch_clf = ClaimClassifier.load(model, backend="torch")
    assert onnx_clf.has_actors
    texts = [json.loads(x)["text"] for x in (DATA / "tiny_train.jsonl").open()]
    _, a_onnx = onnx_clf._run(texts)
    _, a_torch = torch_clf._run(texts)
    assert a_onnx == a_torch


def test_output_contract_jsonl_csv_table(tiny_model, tmp_path):
    out = tmp_path / "out.jsonl"
    run_predict(ClaimClassifier.load(tiny_model), [SEED], output=out, fmt="jsonl", threshold=0.0, progress=False)
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert records and all("source" in r and "target" in r for r in records)
    for r in records:
        if r["label"] == "other":
            assert r["source"] is None and r["target"] is None
        for role in ("source", "target"):
            a = r[role]
            if a is not None:
                assert set(a) == {"text", "start", "end", "country"}
                assert r["text"][a["start"]:a["end"]] == a["text"]
    assert any(r["source"] or r["target"] for r in records)
    csv_out = tmp_path / "out.csv"
    run_predict(ClaimClassifier.load(tiny_model), [SEED], output=csv_out, fmt="csv", threshold=0.0, progress=False)
    rows = list(csv.DictReader(csv_out.open(encoding="utf-8")))
    assert list(rows[0])[: len(CSV_FIELDS)] == list(CSV_FIELDS)
    assert [r["source"] for r in rows] == [(x["source"] or {}).get("text", "") for x in records]
    buf = io.StringIO()
    w = TableWriter(buf, ["accusation", "other"])
    w.header()
    w.write([{**records[0], "label": "accusation", "source": {"text": "Ankara", "start": 0, "end": 6, "country": "TUR"},
              "target": None}])
    assert "» Ankara [TUR] → —" in buf.getvalue()
    row = CsvWriter(io.StringIO(), ["other"]).row({**records[0], "source": {"text": "=cmd", "start": 0, "end": 4,
                                                                          "country": None}})
    assert row[CSV_FIELDS.index("source")] == "'=cmd"  # formula escape holds for actor cells too


def test_evaluate_scores_actors_with_a_baseline(tiny_model):
    c = ClaimClassifier.load(tiny_model, backend="torch")
    m = evaluate(c, DATA / "tiny_train.jsonl").metrics
    a = m["actors"]
    assert a["n"] == 32 and set(a) >= {"source", "target", "end_to_end", "baseline", "by_act"}
    assert a["source"]["exact_match"] > a["baseline"]["source"]["exact_match"]  # it learned its training spans
    # gold without spans: no actor metrics
    assert "actors" not in evaluate(c, DATA / "tiny_dev.jsonl").metrics


def test_evaluate_lists_actor_errors(tiny_model, tmp_path):
    from claimclf.evaluate import normalize_span, write_report

    c = ClaimClassifier.load(tiny_model, backend="torch")
    result = evaluate(c, DATA / "tiny_train.jsonl")
    a = result.metrics["actors"]
    rows = result.actor_errors
    wrong = {role: sum(role in r["wrong"] for r in rows) for role in ("source", "target")}
    for role in ("source", "target"):  # one row per sentence with a wrong role, as many as exact match misses
        assert wrong[role] == round(a["n"] * (1 - a[role]["exact_match"]))
    assert 0 < len(rows) < a["n"]
    for r in rows:
        assert set(r) >= {"id", "text", "act", "predicted_label", "source", "target", "wrong"}
        for role in r["wrong"]:
            assert normalize_span(r[role]["gold"]) != normalize_span(r[role]["predicted"])
    paths = write_report(result, tmp_path / "r")
    listed = [json.loads(x) for x in paths["actor_errors.jsonl"].open(encoding="utf-8")]
    assert listed == rows
    assert "### Actor errors (first 25 of" in (tmp_path / "r" / "report.md").read_text()
    # no actors scored: no actor error file
    assert "actor_errors.jsonl" not in write_report(evaluate(c, DATA / "tiny_dev.jsonl"), tmp_path / "d")


def test_head_layers_are_checked(tiny_model):
    from claimclf.actor_head import fit_actor_head
    from claimclf.data import read_examples

    c = ClaimClassifier.load(tiny_model, backend="torch")
    with pytest.raises(ClaimClfError, match="outside 0..2"):
        fit_actor_head(c, read_examples(DATA / "tiny_train.jsonl"), layers=[5])
    with pytest.raises(ClaimClfError, match="gives 'source'/'target'"):
        fit_actor_head(c, read_examples(DATA / "tiny_dev.jsonl"))


def test_gold_actor_spans_are_validated(tmp_path):
    from claimclf.data import read_examples
    from claimclf.errors import InputError

    f = tmp_path / "gold.jsonl"
    good = {"text": "Turkey accused Greece.", "label": "accusation",
            "source": {"text": "Turkey", "start": 0, "end": 6, "country": "TUR"}, "target": None}
    cases = [({"source": {"text": "Turkey", "start": 0, "end": 60}}, "not inside the sentence"),
             ({"source": {"text": "Greece", "start": 0, "end": 6}}, "is not the sentence's characters 0:6"),
             ({"target": "Greece"}, "must be null or"),
             ({"source": {"start": 0, "end": 6, "country": "turkey"}}, "ISO 3166-1 alpha-3")]
    assert read_examples_ok(f, good)
    for change, message in cases:
        f.write_text(json.dumps({**good, **change}) + "\n")
        with pytest.raises(InputError, match=message) as err:
            read_examples(f)
        assert str(err.value).startswith(f"{f}:1:")


def read_examples_ok(f, record) -> bool:
    from claimclf.data import read_examples

    f.write_text(json.dumps(record) + "\n")
    return read_examples(f)[0].meta["source"]["country"] == "TUR"


def test_length_batches_bound_padding_and_size():
    from claimclf.model import length_batches

    lengths = [4, 5, 10, 20, 23, 24, 24, 26, 28, 28, 28, 32, 33, 37, 40, 41, 41, 42, 44, 44, 48, 48, 58, 61, 64, 68, 70]
    batches = length_batches(list(range(len(lengths))), lengths, 32)
    assert [i for b in batches for i in b] == list(range(len(lengths)))  # order kept, nothing lost
    assert all(lengths[b[-1]] <= 1.25 * lengths[b[0]] + 8 for b in batches)
    assert len(batches) == 4
    assert all(len(b) <= 3 for b in length_batches(list(range(len(lengths))), lengths, 3))


def test_actor_only_data_reaches_the_head_and_nothing_else(tiny_model, tiny_config_file, tmp_path):
    from claimclf.config import load_config
    from claimclf.train import add_actor_head, load_splits

    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    weights = (model / "model.safetensors").read_bytes()
    extra = tmp_path / "actors_extra.jsonl"
    rows = [{"text": "Turkey accused Greece of provocations, the ministry said.", "label": "accusation",
             "source": {"text": "Turkey", "start": 0, "end": 6}, "target": {"text": "Greece", "start": 15, "end": 21}},
            {"text": "\u201cThey lied to us,\u201d he said.", "label": "accusation", "source": None, "target": None},
            {"text": "Russia sent troops to Syria.", "label": "military_deployment",
             "source": {"text": "Russia", "start": 0, "end": 6}, "target": {"text": "Syria", "start": 22, "end": 27}}]
    extra.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text(tiny_config_file.read_text() + f"actor_train_file:\n  - {{file: {extra}, repeat: 2}}\n")
    cfg = load_config(cfg_file)
    _, train_ex, _, _ = load_splits(cfg)
    assert not any(e.text == rows[0]["text"] for e in train_ex)  # the sentence head never sees them
    metrics = add_actor_head(cfg, model, export=False)
    assert metrics["actor_head"]["sentences"] == 32 + 2 * len(rows)
    assert "actor_train_file[0]" in metrics["actor_head"]["data"]
    assert (model / "model.safetensors").read_bytes() == weights
    # a bad actor-only file is refused before any training, naming the file and line
    extra.write_text(json.dumps({**rows[0], "label": "praise"}) + "\n", encoding="utf-8")
    with pytest.raises(ClaimClfError, match=f"{extra}:1"):
        load_splits(load_config(cfg_file))


def test_head_features_are_cached_between_fits(tiny_model):
    from claimclf.actor_head import fit_actor_head
    from claimclf.data import read_examples

    c = ClaimClassifier.load(tiny_model, backend="torch")
    train = read_examples(DATA / "tiny_train.jsonl")
    plain = fit_actor_head(c, train, seed=3)
    cache: dict = {}
    first = fit_actor_head(c, train, seed=3, cache=cache)
    size = len(cache)
    assert size == len({e.text for e in train if "source" in e.meta and e.label != "other"})
    c.hidden_states = None  # a second fit must not run the encoder again
    second = fit_actor_head(c, train, seed=3, cache=cache)
    assert len(cache) == size
    for fit in (first, second):
        for a, b in zip(plain.head.state_dict().values(), fit.head.state_dict().values()):
            assert np.allclose(a.numpy(), b.numpy(), atol=1e-6)
