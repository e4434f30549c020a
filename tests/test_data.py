"""Data I/O: every bad input gets a one-line error naming the file and line."""

from __future__ import annotations

import json

import pytest

from claimclf.data import check_inputs, expand_inputs, iter_articles, read_examples
from claimclf.errors import InputError
from claimclf.labels import DEFAULT_LABELS, infer_labels

from conftest import DATA


def write(path, text, mode="w"):
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_reads_jsonl_with_labels_list():
    exs = read_examples(DATA / "tiny_train.jsonl", DEFAULT_LABELS)
    assert len(exs) == 40
    multi = [e for e in exs if e.labels]
    assert multi[0].all_labels == ("accusation", "denial")
    assert exs[0].all_labels == ("accusation",)


def test_reads_csv_with_and_without_id(tmp_path):
    f = write(tmp_path / "c.csv", 'text,label\n"Troops, tanks moved north.",military_deployment\nRain fell.,other\n')
    exs = read_examples(f, DEFAULT_LABELS)
    assert [e.label for e in exs] == ["military_deployment", "other"]
    assert exs[0].text == "Troops, tanks moved north."
    assert len({e.id for e in exs}) == 2


def test_reads_hf_save_to_disk_folder(tmp_path):
    import datasets

    ds = datasets.Dataset.from_dict({"text": ["The army denied it.", "Rain fell."], "label": [1, 4]},
                                    features=datasets.Features({"text": datasets.Value("string"),
                                                                "label": datasets.ClassLabel(names=list(DEFAULT_LABELS))}))
    ds.save_to_disk(str(tmp_path / "ds"))
    exs = read_examples(tmp_path / "ds", DEFAULT_LABELS)
    assert [e.label for e in exs] == ["denial", "other"]


@pytest.mark.parametrize(
    "content, line, message",
    [
        ('{"id": "a", "text": "ok", "label": "other"}\n{"id": "b", "text": "x", "label": \n', 2, "malformed JSON"),
        ('{"id": "a", "label": "other"}\n', 1, "missing 'text'"),
        ('{"id": "a", "text": "   ", "label": "other"}\n', 1, "empty 'text'"),
        ('{"id": "a", "text": "ok", "label": "threat"}\n', 1, "unknown label 'threat'"),
        ('{"id": "a", "text": "ok", "label": "other"}\n{"id": "a", "text": "no", "label": "other"}\n', 2,
         "duplicate id 'a'"),
        ('{"id": "a", "text": "ok"}\n', 1, "missing 'label'"),
        ('["text", "label"]\n', 1, "expected a JSON object"),
        ('{"id": "a", "text": "ok", "label": "other", "labels": ["denial", "threat"]}\n', 1, "unknown label"),
        ('{"id": "a", "text": 5, "label": "other"}\n', 1, "'text' must be a string"),
    ],
)
def test_bad_jsonl_lines(tmp_path, content, line, message):
    f = write(tmp_path / "bad.jsonl", content)
    with pytest.raises(InputError) as err:
        read_examples(f, DEFAULT_LABELS)
    assert err.value.line == line
    assert message in str(err.value)
    assert str(err.value).startswith(f"{f}:{line}: ")
    assert "\n" not in str(err.value)


def test_wrong_encoding_names_the_line(tmp_path):
    f = write(tmp_path / "latin1.jsonl", '{"id": "a", "text": "ok", "label": "other"}\n'.encode()
              + '{"id": "b", "text": "Bogotá", "label": "other"}\n'.encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.jsonl:2: not valid UTF-8"):
        read_examples(f, DEFAULT_LABELS)


def test_csv_errors(tmp_path):
    f = write(tmp_path / "nolabel.csv", "text,lab\nhello,other\n")
    with pytest.raises(InputError, match="missing column 'label'"):
        read_examples(f, DEFAULT_LABELS)
    f = write(tmp_path / "badlabel.csv", "text,label\nhello,other\nbye,threat\n")
    with pytest.raises(InputError, match=r"badlabel.csv:3: unknown label 'threat'"):
        read_examples(f, DEFAULT_LABELS)
    f = write(tmp_path / "empty.csv", "text,label\n,other\n")
    with pytest.raises(InputError, match=r"empty.csv:2: empty 'text'"):
        read_examples(f, DEFAULT_LABELS)


def test_unsupported_and_missing_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_examples(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="unsupported file type"):
        read_examples(write(tmp_path / "x.xml", "<a/>"))


def test_any_label_set_is_accepted_without_a_label_list(tmp_path):
    f = write(tmp_path / "custom.jsonl", '{"text": "a", "label": "pos"}\n{"text": "b", "label": "neg"}\n')
    exs = read_examples(f)
    assert infer_labels(e.label for e in exs) == ("neg", "pos")
    assert infer_labels(["other", "denial"]) == DEFAULT_LABELS


def test_article_inputs(tmp_path):
    write(tmp_path / "a.txt", "First sentence. Second one.")
    write(tmp_path / "b.txt", "Another article.")
    files = expand_inputs([tmp_path])
    assert [f.path.name for f in files] == ["a.txt", "b.txt"]
    assert [a.id for a in iter_articles(files)] == ["a.txt", "b.txt"]
    jl = write(tmp_path / "arts.jsonl", json.dumps({"id": 7, "text": "Hi there."}) + "\n")
    assert [a.id for a in iter_articles([jl])] == ["7"]
    assert check_inputs(files + [jl]) == 3
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "c.txt", "Nested article.")
    assert [f.doc_id for f in expand_inputs([tmp_path])] == ["a.txt", "b.txt", "sub/c.txt"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", "  \n", "empty article"),
        ("arts.jsonl", '{"id": 1, "text": "ok"}\n{"id": 1, "text": "dup"}\n', "duplicate id '1'"),
        ("arts.jsonl", '{"id": 1}\n', "missing 'text'"),
        ("arts.jsonl", '{"id": 1, "text": "x"}\nnot json\n', "malformed JSON"),
        ("a.pdf", "x", "unsupported input type"),
    ],
)
def test_bad_article_inputs(tmp_path, name, content, message):
    f = write(tmp_path / name, content)
    with pytest.raises(InputError, match=message):
        check_inputs(expand_inputs([f]))


def test_folder_without_txt(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="folder holds no .txt files"):
        expand_inputs([tmp_path / "d"])
