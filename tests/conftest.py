"""Fixtures: a tiny random BERT (hidden 32, 2 layers, a few hundred vocab entries) and a
model trained on it once per session. No network, no real model."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parent.parent


def _vocab() -> list[str]:
    words: set[str] = set()
    for name in ("tiny_train.jsonl", "tiny_dev.jsonl", "tiny_articles.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            words.update(re.findall(r"[a-z]+", json.loads(line)["text"].lower()))
    chars = list(string.ascii_lowercase) + list(string.digits)
    pieces = [f"##{c}" for c in chars]
    punct = list(".,;:!?'\"()-—…/%")
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(words) + chars + pieces + punct


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT with its tokenizer, saved like a hub model."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out = tmp_path_factory.mktemp("tiny-bert")
    tok = BertTokenizerFast(vocab={tok: i for i, tok in enumerate(_vocab())}, do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(str(out), safe_serialization=True)
    tok.save_pretrained(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_config_file(tiny_base, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cfg")
    cfg = d / "tiny.yaml"
    cfg.write_text(
        f"base_model: {tiny_base}\n"
        f"train_file: {DATA / 'tiny_train.jsonl'}\n"
        f"dev_file: {DATA / 'tiny_dev.jsonl'}\n"
        f"test_file: {DATA / 'tiny_dev.jsonl'}\n"
        f"articles_file: {DATA / 'tiny_articles.jsonl'}\n"
        "max_length: 32\nepochs: 15\nlearning_rate: 0.003\nbatch_size: 8\nseed: 7\n",
        encoding="utf-8")
    return cfg


@pytest.fixture(scope="session")
def tiny_model(tiny_config_file, tmp_path_factory) -> Path:
    """A model trained for 15 epochs on ~40 sentences (seconds)."""
    from claimclf.config import load_config
    from claimclf.train import train

    out = tmp_path_factory.mktemp("models") / "tiny"
    train(load_config(tiny_config_file), out, progress=False)
    return out


@pytest.fixture()
def clf(tiny_model):
    from claimclf import ClaimClassifier

    return ClaimClassifier.load(tiny_model, backend="torch")
