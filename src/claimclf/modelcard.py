"""The model card (``README.md`` in a model folder), written from ``metrics.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .bases import about_base
from .evaluate import actors_table, metrics_table

_INTENDED = """\
## Intended use

Sentence-level tagging of English news text for event-data work: which sentences
report an **accusation**, a **denial**, an **agreement** or a **military
deployment**, and which report none of these (`other`). Use it to find candidate
sentences for analysts, to count reported acts over time, or as a first pass
before human coding. Scores are calibrated probabilities; `--threshold` trades
recall for precision.

## Out of scope / misuse

- Not a fact checker: it labels what a sentence *reports*, not whether it is true.
- Not for judging people or groups (for example, treating "accused" as "guilty").
- English only; translated-sounding English is covered, other languages are not.
- Not tested on social media, transcripts or non-news genres.
"""


def _split_section(name: str, m: dict[str, Any]) -> list[str]:
    lines = [f"### {name} (n={m['n']})", "",
             f"accuracy **{m['accuracy']:.3f}**, macro-F1 **{m['macro_f1']:.3f}**"
             + (f", false-alarm rate on gold `other` **{m['false_alarm_rate']:.3f}**"
                if m.get("false_alarm_rate") is not None else "")
             + (f", lenient accuracy {m['lenient_accuracy']:.3f}" if "lenient_accuracy" in m else "")
             + (f", ECE {m['ece']:.3f}" if "ece" in m else ""), ""]
    if "articles" in m:
        lines += [f"{m['articles']} articles through the whole predict path (segmentation included): "
                  f"segmentation exact match {m['segmentation_exact_match']:.3f}, "
                  f"articles with at least one false alarm {m.get('articles_with_false_alarm', 0):.3f}.", ""]
    lines += [metrics_table(m), ""]
    return lines


def _data_line(name: str, d: dict[str, Any]) -> str:
    if "path" in d:
        return f"  - {name}: `{d['path']}` (sha256 `{(d.get('sha256') or '')[:16]}…`)" + (
            f", seen {d['repeat']}x an epoch" if d.get("repeat", 1) > 1 else "")
    sha = d.get("sha256") or {}
    return (f"  - {name}: standoff labels `{d.get('labels')}` (sha256 `{(sha.get('labels') or '')[:16]}…`) over "
            f"`{d.get('texts')}`" + (f", split {d['split']}" if d.get("split") else "")
            + (f", seen {d['repeat']}x an epoch" if d.get("repeat", 1) > 1 else ""))


def _teacher_lines(teacher: dict[str, Any] | None) -> list[str]:
    """The distillation line of the card (nothing for a run without a teacher)."""
    if not teacher:
        return []
    dev = teacher.get("dev") or {}
    on_dev = (f"; the teacher's own dev macro-F1 {dev['macro_f1']:.3f}, false alarms "
              f"{dev['false_alarm_rate']:.3f}" if dev.get("macro_f1") is not None
              and dev.get("false_alarm_rate") is not None else "")
    which = (f"the teacher `{Path(str(teacher['model'])).name}` (base `{teacher.get('base_model')}`)"
             if teacher.get("model") else f"the teacher scores in `{Path(str(teacher.get('scores'))).name}`")
    return [f"- distilled from {which}: loss weight {teacher.get('weight')} on its scores at temperature "
            f"{teacher.get('temperature')}, over {teacher.get('scored_texts')} texts of which "
            f"{teacher.get('unlabeled_sentences')} unlabeled sentences{on_dev}"]


def _actor_limits(metrics: dict[str, Any], min_n: int = 20) -> list[str]:
    """A Limitations line on the actors: the held-out set (of at least ``min_n`` act sentences) where
    the head's target exact match is lowest, given the gold act and end to end."""
    scored = [(name, m["actors"]) for name, m in metrics.get("eval", {}).items()
              if (m.get("actors") or {}).get("n", 0) >= min_n]
    if not scored:
        return []
    name, a = min(scored, key=lambda x: (x[1]["target"]["exact_match"], x[1]["source"]["exact_match"]))
    line = (f"- Actors are less certain than labels. The weakest held-out set for them is {name} "
            f"(n={a['n']} act sentences): given the gold act, source exact match {a['source']['exact_match']:.3f} and target "
            f"{a['target']['exact_match']:.3f}")
    e2e = a.get("end_to_end")
    if e2e:
        line += (f"; end to end, where a missed act also loses its actors, {e2e['source']['exact_match']:.3f} and "
                 f"{e2e['target']['exact_match']:.3f}")
    return [line + ". Check a sample of `source`/`target` spans on your own text before counting pairs of actors."]


def write_model_card(model_dir: str | Path, metrics: dict[str, Any]) -> Path:
    """Write ``README.md`` into ``model_dir``; sections from ``thresholds.md``,
    ``comparison.md``, ``errors_by_kind.md`` and ``heldout_notes.md`` there (written by
    ``training/compare.py``) are included. A model trained with ``default_model: true`` gets the
    project's card for its shipped model; any other model gets a card about itself."""
    model_dir = Path(model_dir)
    cfg = metrics.get("config", {})
    cal = metrics.get("calibration", {})
    default = bool(cfg.get("default_model"))
    base = cfg.get("base_model")
    pypi_base = about_base(base)
    labels = ", ".join(f"`{x}`" for x in metrics.get("labels", []))
    lines = ["---", "language: en", "license: apache-2.0", "library_name: transformers",
             "pipeline_tag: text-classification"]
    if pypi_base:
        lines.append(f"base_model: {pypi_base[0]}")
    lines += ["---", ""]
    if default:
        lines += ["# claimclf default model", "",
                  "A fine-tuned all-MiniLM-L6-v2 (6-layer BERT, 22.7M parameters) that labels news sentences as "
                  + labels + ".", "", _INTENDED,
                  "## Labels", "", "Defined in the project's labeling guide (`training/LABELING.md`): the primary act "
                  "of the sentence's main clause; `other` for everything else (background, meetings, calls, threats, "
                  "combat, arms sales, ordinary news, headings).", ""]
    else:
        lines += [f"# {model_dir.name}: a claimclf sentence classifier", "",
                  f"Trained with `claimclf train` from `{base}`; labels: {labels}. This card was written from the "
                  "run's `metrics.json`: add what the data is, where it comes from, and what the model is for "
                  "and not for.", ""]
    lines += ["## Training", "",
              f"- base model: `{base}`" + (f" ({pypi_base[1]})" if pypi_base else ""),
              f"- method: {cfg.get('method')}; epochs {cfg.get('epochs')}, learning rate {cfg.get('learning_rate')}, "
              f"batch size {cfg.get('batch_size')}, max length {cfg.get('max_length')}, seed {cfg.get('seed')}, "
              f"class weighting `{cfg.get('class_weighting')}`, weights saved as {cfg.get('save_dtype')}",
              *_teacher_lines(metrics.get("teacher")),
              f"- sentences: {metrics.get('counts', {})}"
              + (" (original corpus written for the project and real news labeled by offsets; see "
                 "`training/data/README.md` and `training/real_news/README.md`)" if default else ""),
              f"- training time: {metrics.get('train_seconds', '?')} s on the machine that trained it",
              "- data (sha256):"]
    for name, d in metrics.get("data", {}).items():
        lines.append(_data_line(name, d))
    for w in metrics.get("warnings", []):
        lines += ["", f"**Warning:** {w}"]
    if metrics.get("epochs"):
        lines += ["", "| epoch | dev macro-F1 | dev accuracy | dev false-alarm rate |", "|---:|---:|---:|---:|"]
        for e in metrics["epochs"]:
            lines.append(f"| {e['epoch']:.0f} | {e['dev_macro_f1']:.3f} | {e['dev_accuracy']:.3f} | "
                         f"{e['dev_false_alarm_rate']:.3f} |")
    if metrics.get("restarts"):
        lines += ["", "Restarts: the same configuration was trained once per seed and the run that ranks best on "
                  "dev (within the dev false-alarm budget, then by macro-F1) was kept; test played no part.", "",
                  "| seed | dev macro-F1 | dev false-alarm rate | kept |", "|---:|---:|---:|---|"]
        for r in metrics["restarts"]:
            fa = r.get("dev_false_alarm_rate")
            lines.append(f"| {r['seed']} | {r['dev_macro_f1']:.3f} | {'' if fa is None else f'{fa:.3f}'} | "
                         f"{'yes' if r.get('kept') else ''} |")
    lines += ["", "## Metrics", "", "Held-out data that training never saw. Dev picks the checkpoint and the "
              "temperature. Test and the article sets are scored for reporting; the article sets run through "
              "the whole predict path (segmentation included).", ""]
    notes = model_dir / "heldout_notes.md"
    if notes.exists():  # what each held-out set was used for (written by the project's training/compare.py)
        lines += [notes.read_text(encoding="utf-8").strip(), ""]
    for name, m in metrics.get("eval", {}).items():
        lines += _split_section(name, m)
    head = metrics.get("actor_head")
    if head:
        acfg = head.get("config") or {}
        lines += ["## Actors: who did what to whom", "",
                  "For each sentence labeled as an act, the actor head gives its `source` and `target` as spans of "
                  "the sentence (or null), with an ISO 3166-1 alpha-3 code where the span names a country "
                  "(`claimclf.countries`). The roles follow the last section of the labeling guide. The head reads "
                  f"encoder layers {acfg.get('layers', '?')} from the same encoder pass as the label (the encoder is "
                  "frozen while the head is fitted, so no sentence score changed); it was fitted on "
                  f"{head['sentences']} act sentences with actors ({head.get('by_act', {})}), "
                  f"{head['epochs']} epochs, in {head.get('fit_seconds', '?')} s after "
                  f"{head.get('encode_seconds', '?')} s of encoding.", "",
                  "Exact match and token-overlap F1 after SQuAD normalisation (case, punctuation, articles), over "
                  "the gold act sentences: *gold act* runs the head for the sentence's gold act (what the head "
                  "does); *end to end* uses the predicted label (a sentence not given its gold act has null "
                  "actors); the rule baseline takes the first capitalised name before the act word as source and "
                  "the first after it as target.", ""]
        for name, m in metrics.get("eval", {}).items():
            a = m.get("actors")
            if not a:
                continue
            c = a.get("country") or {}
            lines += [f"### {name} (n={a['n']} act sentences)", "", actors_table(a), ""]
            if c.get("accuracy") is not None:
                lines += [f"Country codes where the gold actor names a country: accuracy {c['accuracy']:.3f} "
                          f"(n={c['n']}; the code of the gold span's own text: {c['lookup_accuracy']:.3f}); a code "
                          f"where the gold has none: {c['coded_where_gold_has_none']:.3f} "
                          f"(n={c['n_without_country']}).", ""]
    lines += ["## Calibration", "",
              f"Temperature {cal.get('temperature', 1.0):.3f} (fitted on dev when dev ECE > "
              f"{cfg.get('ece_threshold', 0.05)}); dev ECE {cal.get('dev_ece_before', 0):.3f} before, "
              f"{cal.get('dev_ece_after', 0):.3f} after.", ""]
    if metrics.get("thresholds"):
        lines += ["## Decision thresholds", "",
                  f"Chosen on dev, per act: the highest recall at precision >= {cfg.get('threshold_precision', 0.85)}."
                  " A sentence whose top act scores below its act's threshold is labeled `other` "
                  "(`from_threshold: true` in the output); `--threshold P` replaces them all by P, "
                  "`--threshold 0` turns them off.", "",
                  "| act | threshold | dev precision | dev recall | dev support | precision target reached |",
                  "|---|---:|---:|---:|---:|---|"]
        for name, t in metrics["thresholds"].items():
            lines.append(f"| {name} | {t['threshold']:.2f} | {t['precision']:.3f} | {t['recall']:.3f} | "
                         f"{t['support']} | {'yes' if t['reached'] else 'no'} |")
        lines.append("")
    for extra in ("thresholds.md", "comparison.md", "errors_by_kind.md"):
        p = model_dir / extra
        if p.exists():
            lines += [p.read_text(encoding="utf-8").strip(), ""]
    lines += ["## Limitations", "",
              ("- English news only; trained on an original corpus in news-wire style and 35 real Voice of "
               "America stories, so feeds with other house styles may score lower than the figures above."
               if default else "- Only as good as its training data: check it on text like the text you will "
                                "run it on before you trust its figures."),
              "- It labels the main clause's act; secondary acts (the `labels` list in gold files) are not predicted.",
              "- Known confusions are listed in the per-class tables above and in `evaluate` reports "
              "(`errors.jsonl`).", *_actor_limits(metrics), "",
              "## Reproduce", "", "```bash"]
    lines += (["make model   # claimclf train --config training/configs/default.yaml --output models/default, "
               "then the baselines"] if default else
              [f"claimclf train --config CONFIG.yaml --output {model_dir.name}   # the config in metrics.json"])
    lines += ["```", ""]
    out = model_dir / "README.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def rewrite_model_card(model_dir: str | Path) -> Path:
    model_dir = Path(model_dir)
    metrics = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    return write_model_card(model_dir, metrics)
