"""Fine-tuning: Hugging Face ``Trainer`` on ``datasets``, configured by :class:`TrainConfig`.

The run evaluates on dev every epoch, keeps the best checkpoint (by macro-F1 among
the epochs within the dev false-alarm budget, ``select_max_false_alarm``),
fits temperature scaling on dev when calibration is poor, then writes the model
folder with ``metrics.json`` and a model card. The output folder is replaced only
when the whole run has finished.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import DataSource, TrainConfig
from .data import Example, examples_to_dataset, read_examples
from .errors import ClaimClfError
from .labels import infer_labels, negative_label

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    output_dir: Path
    metrics: dict[str, Any]


def file_sha256(path: str | Path) -> str | None:
    p = Path(path)
    if not p.is_file():
        return None
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_source(cfg: TrainConfig, source: DataSource, labels=None) -> list[Example]:
    """The examples of one data source (a corpus file, or standoff labels joined with their texts)."""
    src = cfg.resolve(source)
    if src.file is not None:
        return read_examples(src.file, labels)
    from .standoff import read_standoff_examples

    return read_standoff_examples(src.labels, src.texts, split=src.split, labels=labels)


def source_sha256(cfg: TrainConfig, source: DataSource) -> dict[str, Any]:
    src = cfg.resolve(source)
    if src.file is not None:
        return {"path": source.file, "sha256": file_sha256(src.file)}
    return {"labels": source.labels, "texts": source.texts, "split": source.split,
            "sha256": {"labels": file_sha256(src.labels), "texts": file_sha256(src.texts)}}


def evaluate_source(clf, cfg: TrainConfig, source: DataSource, **kwargs):
    """Score ``clf`` on one data source (standoff sources through the whole predict path)."""
    from .evaluate import evaluate

    src = cfg.resolve(source)
    if src.file is not None:
        return evaluate(clf, src.file, **kwargs)
    return evaluate(clf, src.labels, texts=src.texts, split=src.split, **kwargs)


def load_splits(cfg: TrainConfig) -> tuple[tuple[str, ...], list[Example], list[Example], list[Example] | None]:
    """Read and validate train/dev/test; the label set comes from the config or the train data.
    Training sources with ``repeat: N`` appear N times in the returned training list."""
    allowed = tuple(cfg.labels) if cfg.labels else None
    parts = [(src, read_source(cfg, src, allowed)) for src in cfg.train_sources]
    labels = allowed or infer_labels(e.label for _, exs in parts for e in exs)
    if allowed is None:  # every source must use the label set (a later source's unknown label is an error)
        parts = [(src, read_source(cfg, src, labels)) for src in cfg.train_sources]
    train = [e for src, exs in parts for _ in range(src.repeat) for e in exs]
    dev = read_source(cfg, cfg.dev_file, labels)
    test = read_source(cfg, cfg.test_file, labels) if cfg.test_file else None
    for src in cfg.actor_train_file:  # read by the actor head after training: checked now, not an hour later
        read_source(cfg, src, labels)
    for name, rows in (("train_file", train), ("dev_file", dev)):
        if not rows:
            raise ClaimClfError(f"{name}: no examples")
    missing = [name for name in labels if name not in {e.label for e in train}]
    if missing:
        raise ClaimClfError(f"{cfg.train_file}: no training example for label(s) {', '.join(missing)}")
    return labels, train, dev, test


def class_weights(train: list[Example], labels: tuple[str, ...], mode: str,
                  explicit: dict[str, float] | None = None) -> list[float] | None:
    if explicit:
        unknown = set(explicit) - set(labels)
        if unknown:
            raise ClaimClfError(f"class_weights: label(s) not in the label set: {', '.join(sorted(unknown))}")
        return [float(explicit.get(name, 1.0)) for name in labels]
    if mode == "none":
        return None
    counts = np.array([sum(e.label == name for e in train) for name in labels], dtype=float)
    w = counts.sum() / (len(labels) * counts)
    if mode == "sqrt":
        w = np.sqrt(w)
    return (w / w.mean()).tolist()


def within_false_alarm_budget(false_alarm_rate: float, budget: float | None) -> bool:
    """The selection rule shared by the checkpoint choice and the restarts: within the budget comes first."""
    return budget is None or false_alarm_rate <= budget


def _quiet_progress_bars() -> None:
    """``-q``: no progress bars from datasets (map) or transformers (weight loading)."""
    import datasets
    from transformers.utils import logging as hf_logging

    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()  # "Writing model shards"
    except ImportError:  # pragma: no cover
        pass


def readable_files(folder: Path) -> None:
    """Give a written model folder ordinary permissions (files 0644, folders 0755, less the umask):
    some writers create files 0600, which other users and cluster workers cannot read."""
    mask = os.umask(0)
    os.umask(mask)
    for p in [folder, *folder.rglob("*")]:
        if not p.is_symlink():
            os.chmod(p, (0o777 if p.is_dir() else 0o666) & ~mask)


def chance_warning(dev: dict[str, Any], gold: list[str], labels: tuple[str, ...]) -> str | None:
    """A warning when dev macro-F1 is near what always predicting the commonest label gets."""
    from collections import Counter

    from .evaluate import score

    majority = Counter(gold).most_common(1)[0][0]
    floor = score(gold, [majority] * len(gold), labels)["macro_f1"]
    if dev["macro_f1"] <= max(1.5 * floor, 1.0 / len(labels)):
        return (f"dev macro-F1 {dev['macro_f1']:.3f} is near chance (always '{majority}' gets {floor:.3f}): the model "
                "has learned little; train longer (epochs), check the learning rate, or add data")
    return None


def _swap_into_place(tmp: Path, final: Path) -> None:
    """Replace ``final`` by ``tmp`` with two renames (the old copy is removed last)."""
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    if old.exists():
        shutil.rmtree(old)


def average_checkpoints(model, checkpoints: Path, n: int) -> list[str]:
    """Load into ``model`` the mean of the weights of the last ``n`` checkpoints (checkpoint averaging)."""
    import torch
    from safetensors.torch import load_file

    dirs = sorted(checkpoints.glob("checkpoint-*"), key=lambda p: int(p.name.rsplit("-", 1)[1]))[-n:]
    if len(dirs) < n:
        raise ClaimClfError(f"average_last: found {len(dirs)} checkpoints, need {n}")
    total: dict[str, torch.Tensor] = {}
    for d in dirs:
        for name, tensor in load_file(str(d / "model.safetensors")).items():
            total[name] = total[name] + tensor.double() if name in total else tensor.double()
    state = {name: (t / len(dirs)).to(torch.float32) for name, t in total.items()}
    model.load_state_dict(state, strict=True)
    return [d.name for d in dirs]


def select_predictions(logits: np.ndarray, gold: list[str], labels: tuple[str, ...], cfg: TrainConfig) -> list[str]:
    """An epoch's dev predictions as the checkpoint choice sees them: with ``fit_thresholds``, after
    the per-act thresholds fitted on those predictions (the model ships with such thresholds, so
    its false alarms are counted after them), else the top class."""
    from .evaluate import apply_thresholds, fit_thresholds
    from .model import _softmax

    probs = _softmax(np.asarray(logits, dtype=np.float64))
    if cfg.fit_thresholds and negative_label(labels) is not None:
        fit = fit_thresholds(probs, gold, labels, min_precision=cfg.threshold_precision)
        return apply_thresholds(probs, labels, {name: f["threshold"] for name, f in fit.items()})
    return [labels[i] for i in probs.argmax(axis=1)]


def _finish(cfg: TrainConfig, model, tokenizer, labels: tuple[str, ...], train_ex: list[Example],
            dev_ex: list[Example], test_ex: list[Example] | None, history: list[dict[str, Any]],
            averaged: list[str], output: Path, started: float, *,
            teacher: dict[str, Any] | None = None) -> dict[str, Any]:
    """From the chosen weights to the model folder: temperature and thresholds on dev, the
    save, every evaluation, the ONNX copies, metrics.json and the card; then swap into place."""
    import torch
    import transformers

    from .evaluate import expected_calibration_error, fit_temperature, fit_thresholds
    from .model import ClaimClassifier, _softmax

    meta = {"base_model": cfg.base_model, "method": cfg.method, "trained": time.strftime("%Y-%m-%d"),
            "seed": cfg.seed}
    clf = ClaimClassifier(model, tokenizer, max_length=cfg.max_length, meta=meta)
    dev_logits = clf.predict_logits([e.text for e in dev_ex])
    dev_gold = np.array([labels.index(e.label) for e in dev_ex])
    ece_before = expected_calibration_error(_softmax(dev_logits), dev_gold)
    if cfg.calibrate and ece_before > cfg.ece_threshold:
        clf.temperature = fit_temperature(dev_logits, dev_gold)
    ece_after = expected_calibration_error(_softmax(dev_logits / clf.temperature), dev_gold)
    threshold_fit = None
    if cfg.fit_thresholds and negative_label(labels) is not None:
        threshold_fit = fit_thresholds(_softmax(dev_logits / clf.temperature), [e.label for e in dev_ex], labels,
                                       min_precision=cfg.threshold_precision)
        clf.meta["thresholds"] = {name: f["threshold"] for name, f in threshold_fit.items()}
        clf.thresholds = dict(clf.meta["thresholds"])

    actor_report = fit_actors(clf, cfg, train_ex)

    tmp_out = output.with_name(output.name + f".partial-{os.getpid()}")
    if tmp_out.exists():
        shutil.rmtree(tmp_out)
    clf.save(tmp_out, dtype=cfg.save_dtype)

    metrics: dict[str, Any] = {
        "config": cfg.model_dump(),
        "labels": list(labels),
        "data": {**{f"train_file[{i}]" if len(cfg.train_sources) > 1 else "train_file":
                    {**source_sha256(cfg, src), "repeat": src.repeat} for i, src in enumerate(cfg.train_sources)},
                 **{name: source_sha256(cfg, getattr(cfg, name))
                    for name in ("dev_file", "test_file", "articles_file") if getattr(cfg, name)}},
        "counts": {"train": len(train_ex), "dev": len(dev_ex), "test": len(test_ex) if test_ex else 0},
        "epochs": [{"epoch": h.get("epoch"), "dev_macro_f1": h["eval_macro_f1"],
                    "dev_accuracy": h.get("eval_accuracy"), "dev_false_alarm_rate": h.get("eval_false_alarm_rate")}
                   for h in history],
        "averaged_checkpoints": averaged,
        "calibration": {"temperature": clf.temperature, "dev_ece_before": ece_before, "dev_ece_after": ece_after},
        "thresholds": threshold_fit,
        "actor_head": actor_report,
        "teacher": teacher,
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
    }
    evals = {"dev": cfg.dev_file}
    if cfg.test_file:
        evals["test"] = cfg.test_file
    if cfg.articles_file:
        evals["articles"] = cfg.articles_file
    for extra in cfg.extra_eval_files:
        evals[extra.display_name] = extra
    metrics["eval"] = {name: evaluate_source(clf, cfg, src).metrics for name, src in evals.items()}
    warning = chance_warning(metrics["eval"]["dev"], [e.label for e in dev_ex], labels)
    if warning:
        warnings.warn(warning, stacklevel=2)
        metrics["warnings"] = [warning]
    if cfg.export_onnx:
        from .onnx_export import export_onnx

        exported = export_onnx(tmp_out, calibration=[e.text for e in dev_ex], check_examples=dev_ex)
        metrics["onnx"] = exported.as_dict()
    metrics["train_seconds"] = round(time.time() - started, 1)
    (tmp_out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    from .modelcard import write_model_card

    write_model_card(tmp_out, metrics)
    readable_files(tmp_out)
    output.parent.mkdir(parents=True, exist_ok=True)
    _swap_into_place(tmp_out, output)
    return metrics


def fit_actors(clf, cfg: TrainConfig, train_ex: list[Example]) -> dict[str, Any] | None:
    """Fit the actor head on ``clf`` (frozen) when ``cfg.actor_head`` is on and the training data gives
    source/target spans; the head goes into ``clf`` (saved with it). ``cfg.actor_train_file`` adds act
    sentences for the head alone. Returns the fit's report."""
    from .actor_head import fit_actor_head, has_actor_spans

    if not cfg.actor_head:
        return None
    train_ex = list(train_ex) + [e for src in cfg.actor_train_file for _ in range(src.repeat)
                                 for e in read_source(cfg, src, clf.labels)]
    if not any(e.label != clf.negative_label and has_actor_spans(e) for e in train_ex):
        return None
    log.info("fitting the actor head (source/target spans)")
    from transformers.utils import logging as hf_logging

    fit = fit_actor_head(clf, train_ex, epochs=cfg.actor_epochs, layers=cfg.actor_layers, seed=cfg.seed,
                         progress=hf_logging.is_progress_bar_enabled())  # off with --quiet
    clf.actor_head, clf.actor_config = fit.head, fit.config
    return fit.report


def actor_data_hashes(cfg: TrainConfig) -> dict[str, Any]:
    """The files the actor head was fitted and scored on, as they were then (sha256)."""
    return {**{f"train_file[{i}]": source_sha256(cfg, src) for i, src in enumerate(cfg.train_sources)},
            **{f"actor_train_file[{i}]": source_sha256(cfg, src) for i, src in enumerate(cfg.actor_train_file)},
            **{name: source_sha256(cfg, getattr(cfg, name)) for name in ("dev_file", "test_file") if getattr(cfg, name)},
            **{extra.display_name: source_sha256(cfg, extra) for extra in cfg.extra_eval_files}}


def add_actor_head(cfg: TrainConfig, model_dir: str | Path, *, export: bool = True,
                   check_file: str | Path | None = None) -> dict[str, Any]:
    """Give a trained model an actor head without touching its encoder or its sentence head: fit the
    head on ``cfg``'s training data, write ``actors.safetensors`` and ``claimclf.json``, remake the
    ONNX copies (with ``actor_logits``), re-score every evaluation set of ``cfg`` and update
    ``metrics.json`` and the model card. The folder is replaced only when all of that worked."""
    from .model import META_FILE, ClaimClassifier

    model_dir = Path(model_dir)
    started = time.time()
    clf = ClaimClassifier.load(model_dir, backend="torch")
    labels, train_ex, dev_ex, _ = load_splits(cfg)
    if tuple(labels) != clf.labels:
        raise ClaimClfError(f"{model_dir}: its labels {list(clf.labels)} are not the config's {list(labels)}")
    report = fit_actors(clf, cfg.model_copy(update={"actor_head": True}), train_ex)
    if report is None:
        raise ClaimClfError("the training data gives no source/target spans for the actor head")
    tmp_out = model_dir.with_name(model_dir.name + f".partial-{os.getpid()}")
    if tmp_out.exists():
        shutil.rmtree(tmp_out)
    shutil.copytree(model_dir, tmp_out, symlinks=False)
    from .actor_head import save_head

    save_head(clf.actor_head, clf.actor_config, tmp_out)
    meta = json.loads((tmp_out / META_FILE).read_text(encoding="utf-8"))
    meta["actors"] = clf.actor_config.as_dict()
    (tmp_out / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    metrics_file = tmp_out / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.exists() else {}
    if export:
        from .onnx_export import export_onnx

        if check_file is not None:
            exported = export_onnx(tmp_out, check_file=check_file)
        else:
            exported = export_onnx(tmp_out, calibration=[e.text for e in dev_ex], check_examples=dev_ex)
        metrics["onnx"] = exported.as_dict()
    clf = ClaimClassifier.load(tmp_out, backend="torch")
    evals = {"dev": cfg.dev_file, **({"test": cfg.test_file} if cfg.test_file else {}),
             **({"articles": cfg.articles_file} if cfg.articles_file else {}),
             **{extra.display_name: extra for extra in cfg.extra_eval_files}}
    metrics["config"] = cfg.model_dump()
    metrics["actor_head"] = {**report, "added_seconds": round(time.time() - started, 1),
                             "data": actor_data_hashes(cfg)}
    metrics.setdefault("eval", {}).update({name: evaluate_source(clf, cfg, src).metrics for name, src in evals.items()})
    metrics_file.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    from .modelcard import write_model_card

    write_model_card(tmp_out, metrics)
    readable_files(tmp_out)
    _swap_into_place(tmp_out, model_dir)
    return metrics


def train(cfg: TrainConfig, output: str | Path | None = None, *, progress: bool = True) -> TrainResult:
    """Train a classifier as ``cfg`` says and write it to ``output`` (default ``cfg.output_dir``)."""
    import torch
    import transformers
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                              Trainer, TrainingArguments)

    from .evaluate import score
    from .model import available_cpus, check_model_folder, resolve_base_model

    started = time.time()
    transformers.logging.set_verbosity_error()
    output = Path(output or cfg.path(cfg.output_dir))
    labels, train_ex, dev_ex, test_ex = load_splits(cfg)
    torch.set_num_threads(cfg.threads or available_cpus())
    transformers.set_seed(cfg.seed)

    base = resolve_base_model(cfg.base_model)
    check_model_folder(base)  # no custom code, no pickled weights
    if not progress:
        _quiet_progress_bars()
    tokenizer = AutoTokenizer.from_pretrained(base, trust_remote_code=False)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={n: i for i, n in enumerate(labels)}, trust_remote_code=False, use_safetensors=True,
    )
    if cfg.method == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        model = get_peft_model(model, LoraConfig(
            task_type=TaskType.SEQ_CLS, r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
            target_modules=["query", "key", "value", "dense"]))

    def tokenize(batch):
        return tokenizer(batch["text"], truncation=True, max_length=cfg.max_length)

    teacher_cfg = cfg.resolved_teacher()
    teacher_report = None
    if teacher_cfg is not None:  # distillation: the teacher scores every training text once, first
        import datasets

        from .distill import prepare

        log.info("scoring the training sentences with the teacher %s", teacher_cfg.model)
        columns, teacher_report = prepare(
            teacher_cfg, labels, train_ex, batch_size=cfg.eval_batch_size, progress=progress,
            dev=lambda teacher: evaluate_source(teacher, cfg, cfg.dev_file, progress=False).metrics)
        train_ds = datasets.Dataset.from_dict(columns, features=datasets.Features({
            "text": datasets.Value("string"), "label": datasets.Value("int64"),
            "teacher": datasets.Sequence(datasets.Value("float32"))}))
        train_ds = train_ds.map(tokenize, batched=True, remove_columns=["text"])
    else:
        train_ds = examples_to_dataset(train_ex, labels).map(tokenize, batched=True, remove_columns=["id", "text"])
    dev_ds = examples_to_dataset(dev_ex, labels).map(tokenize, batched=True, remove_columns=["id", "text"])
    weights = class_weights(train_ex, labels, cfg.class_weighting, cfg.class_weights)

    def compute_metrics(pred):
        gold = [labels[i] for i in pred.label_ids]
        guess = select_predictions(pred.predictions, gold, labels, cfg)
        s = score(gold, guess, labels)
        fa = s["false_alarm_rate"] or 0.0
        # checkpoint choice: within the false-alarm budget first, then by macro-F1
        within = within_false_alarm_budget(fa, cfg.select_max_false_alarm)
        return {"macro_f1": s["macro_f1"], "accuracy": s["accuracy"], "false_alarm_rate": fa,
                "selection": s["macro_f1"] - (0.0 if within else 1.0)}

    class _Trainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            gold = inputs.pop("labels")
            teacher = inputs.pop("teacher", None)  # training batches of a distillation run
            outputs = model(**inputs)
            w = torch.tensor(weights, dtype=outputs.logits.dtype, device=outputs.logits.device) if weights else None
            if teacher is not None:
                from .distill import distillation_loss

                loss = distillation_loss(outputs.logits, gold, teacher, weight=teacher_cfg.weight,
                                         temperature=teacher_cfg.temperature, class_weights=w,
                                         label_smoothing=cfg.label_smoothing)
            else:
                loss = torch.nn.functional.cross_entropy(outputs.logits, gold, weight=w,
                                                         label_smoothing=cfg.label_smoothing)
            return (loss, outputs) if return_outputs else loss

    workdir = Path(tempfile.mkdtemp(prefix="claimclf-train-"))
    try:
        args = TrainingArguments(
            output_dir=str(workdir / "checkpoints"),
            num_train_epochs=cfg.epochs,
            learning_rate=cfg.learning_rate,
            per_device_train_batch_size=cfg.batch_size,
            per_device_eval_batch_size=cfg.eval_batch_size,
            weight_decay=cfg.weight_decay,
            warmup_steps=cfg.warmup_ratio,
            eval_strategy="epoch",
            save_strategy="epoch",
            save_total_limit=cfg.average_last,
            save_only_model=True,
            load_best_model_at_end=cfg.average_last == 1,
            metric_for_best_model="selection",
            greater_is_better=True,
            logging_strategy="epoch",
            train_sampling_strategy="group_by_length",
            seed=cfg.seed,
            data_seed=cfg.seed,
            report_to="none",
            disable_tqdm=not progress,
            use_cpu=not torch.cuda.is_available(),
            dataloader_num_workers=0,
            remove_unused_columns=teacher_cfg is None,  # keep the 'teacher' column for compute_loss
        )
        trainer = _Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=dev_ds,
                           data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer,
                           compute_metrics=compute_metrics)
        if not progress:
            from transformers.trainer_callback import PrinterCallback

            trainer.remove_callback(PrinterCallback)
        trainer.train()
        history = [h for h in trainer.state.log_history if "eval_macro_f1" in h]
        model = trainer.model
        averaged = average_checkpoints(model, workdir / "checkpoints", cfg.average_last) if cfg.average_last > 1 else []
        if cfg.method == "lora":
            model = model.merge_and_unload()
        model = model.to("cpu").float().eval()

        metrics = _finish(cfg, model, tokenizer, labels, train_ex, dev_ex, test_ex, history, averaged, output,
                          started, teacher=teacher_report)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return TrainResult(output, metrics)


def _dev_rank(metrics: dict[str, Any], max_false_alarm: float | None) -> tuple[int, float]:
    """How a finished run ranks on dev: runs within the false-alarm budget first, then by macro-F1
    (the same rule as the checkpoint choice inside a run)."""
    dev = metrics["eval"]["dev"]
    within = within_false_alarm_budget(dev.get("false_alarm_rate") or 0.0, max_false_alarm)
    return (1 if within else 0, float(dev["macro_f1"]))


def train_restarts(cfg: TrainConfig, seeds: list[int], output: str | Path | None = None, *,
                   progress: bool = True) -> TrainResult:
    """Train once per seed and keep the run that ranks best on dev (restarts).

    Fine-tuning a small model on a few thousand sentences varies a lot with the seed (head
    initialisation and data order); picking among restarts by dev is the standard remedy. Only
    dev decides: test and the other held-out files are scored for every run but never compared.
    The kept folder's ``metrics.json`` records every seed's dev scores under ``restarts``, and its
    config carries the kept seed, so ``train`` with that seed alone reproduces it.
    """
    if not seeds:
        raise ClaimClfError("restarts: give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ClaimClfError("restarts: repeated seed")
    output = Path(output or cfg.path(cfg.output_dir))
    output.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{output.name}.restarts-", dir=output.parent))
    try:
        runs = []
        for seed in seeds:
            log.info("restart with seed %d", seed)
            run_cfg = cfg.model_copy(update={"seed": seed})  # keeps the config's folder (_root)
            result = train(run_cfg, workdir / f"seed-{seed}", progress=progress)
            runs.append((seed, result))
        best_seed, best = max(runs, key=lambda r: _dev_rank(r[1].metrics, cfg.select_max_false_alarm))
        table = [{"seed": seed, "dev_macro_f1": r.metrics["eval"]["dev"]["macro_f1"],
                  "dev_false_alarm_rate": r.metrics["eval"]["dev"].get("false_alarm_rate"),
                  "kept": seed == best_seed} for seed, r in runs]
        metrics = dict(best.metrics, restarts=table)
        (best.output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        from .modelcard import write_model_card

        write_model_card(best.output_dir, metrics)
        _swap_into_place(best.output_dir, output)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return TrainResult(output, metrics)
