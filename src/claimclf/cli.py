"""The ``claimclf`` command: a thin layer over the Python API.

Heavy libraries (torch, transformers) are imported inside the commands that need
them, so ``--help`` and bad-input errors are instant.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from . import __version__
from .errors import ClaimClfError


def _threshold(value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {v}")
    return v


def _positive_int(value: str) -> int:
    try:
        v = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _model_args(p: argparse.ArgumentParser, backend: bool = True) -> None:
    p.add_argument("--model", metavar="DIR", help="model folder (default: the shipped models/default)")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="sentences per batch (default 32)")
    if backend:
        p.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                       help="inference backend; auto uses ONNX Runtime where the model has an ONNX copy")
        p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                       help="cpu (default), cuda (fp16), or auto (cuda when available)")
    p.add_argument("--max-length", type=_positive_int, metavar="N",
                   help="tokens kept per sentence (default: the model's own, usually 128)")


def _load(args):
    from .model import ClaimClassifier

    return ClaimClassifier.load(args.model, backend=getattr(args, "backend", "auto"),
                                device=getattr(args, "device", "cpu"), max_length=args.max_length)


def _one_line(message: object) -> str:
    """An error message safe to print: one line, no control characters, encodable."""
    from .predict import printable

    return printable(str(message)).encode("utf-8", "backslashreplace").decode("utf-8")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line on stderr (``claimclf: warning: ...``), without the source line that
    Python's default format prints; other libraries' warnings name their category."""
    kind = "" if category is UserWarning else f"{category.__name__}: "
    print(f"claimclf: warning: {kind}{_one_line(message)}", file=file or sys.stderr)


# ---------------------------------------------------------------- commands


def cmd_predict(args) -> int:
    from .model import available_cpus
    from .predict import run_predict

    inputs = list(args.inputs)
    if args.sentences:
        inputs.insert(0, args.sentences)
    if not inputs:
        raise ClaimClfError("nothing to classify: give INPUT files/folders or --sentences FILE.jsonl")
    if args.sentences and args.inputs:
        raise ClaimClfError("--sentences takes the only input; drop the other INPUT arguments")
    fmt = args.format
    if fmt is None:
        if args.output:
            fmt = "csv" if str(args.output).lower().endswith(".csv") else "jsonl"
        else:
            fmt = "table" if sys.stdout.isatty() else "jsonl"
    from .predict import prepare_inputs

    prepared = prepare_inputs(inputs, sentences=bool(args.sentences))  # bad input fails before the model loads
    if args.output:
        from .predict import check_output

        check_output(args.output, prepared[0])  # so does an output that cannot or must not be written
    clf = _load(args)
    progress = not args.quiet and sys.stderr.isatty() if args.progress is None else args.progress
    stats = run_predict(clf, inputs, output=args.output, fmt=fmt, sentences=bool(args.sentences),
                        threshold=args.threshold, batch_size=args.batch_size, resume=args.resume,
                        progress=progress, engine=args.engine, prepared=prepared,
                        segment_processes=available_cpus())  # only a line of over 400,000 characters uses them
    if args.output and not args.quiet:
        if stats.complete_already:
            print(f"{stats.output} is already the finished output of these inputs: nothing to do", file=sys.stderr)
        else:
            kept = f" ({stats.skipped} kept from the interrupted run)" if stats.skipped else ""
            print(f"wrote {stats.sentences} records{kept} to {stats.output}", file=sys.stderr)
    return 0


def cmd_evaluate(args) -> int:
    import importlib.util

    if importlib.util.find_spec("sklearn") is None:
        raise ClaimClfError("evaluate needs scikit-learn: pip install 'claimclf[eval]'")
    from .evaluate import evaluate, is_article_gold, summary_lines, write_report

    if args.texts:  # a standoff label file: validate it against its texts before the model loads
        from .standoff import read_standoff_articles

        read_standoff_articles(args.gold, args.texts, split=args.split)
    else:
        is_article_gold(args.gold)  # a missing or unreadable gold file fails before the model loads
    clf = _load(args)
    result = evaluate(clf, args.gold, threshold=args.threshold, batch_size=args.batch_size,
                      progress=not args.quiet and sys.stderr.isatty(), texts=args.texts, split=args.split)
    from .evaluate import metrics_table

    paths = write_report(result, args.report_dir, model=str(clf.path)) if args.report_dir else None  # before printing
    print("\n".join(summary_lines(result.metrics)))
    print(metrics_table(result.metrics))
    if paths:
        beside = ", ".join(name for name in paths if name != "report.md")
        print(f"report: {paths['report.md']}  ({beside} beside it)")
    return 0


def cmd_train(args) -> int:
    from .config import load_config
    from .train import load_splits, train, train_restarts

    cfg = load_config(args.config, epochs=args.epochs, seed=args.seed, base_model=args.base_model)
    if args.teacher:  # the config's teacher settings (weight, temperature, unlabeled) with this model
        from pathlib import Path

        from .config import TeacherConfig

        model = str(Path(args.teacher).expanduser().resolve())
        teacher = (cfg.teacher.model_copy(update={"model": model, "scores": None}) if cfg.teacher
                   else TeacherConfig(model=model))
        cfg = cfg.model_copy(update={"teacher": teacher})  # keeps the config's folder (_root)
    load_splits(cfg)  # validate the data before any model is loaded
    if args.seeds:
        result = train_restarts(cfg, args.seeds, args.output, progress=not args.quiet)
        for r in result.metrics["restarts"]:
            print(f"seed {r['seed']}: dev macro-F1 {r['dev_macro_f1']:.3f}"
                  + (f"  dev false-alarm {r['dev_false_alarm_rate']:.3f}" if r['dev_false_alarm_rate'] is not None
                     else "") + ("  (kept)" if r["kept"] else ""))
    else:
        result = train(cfg, args.output, progress=not args.quiet)
    for name, m in result.metrics["eval"].items():
        print(f"{name}: macro-F1 {m['macro_f1']:.3f}  accuracy {m['accuracy']:.3f}"
              + (f"  false-alarm {m['false_alarm_rate']:.3f}" if m.get("false_alarm_rate") is not None else ""))
    print(f"model written to {result.output_dir}")
    return 0


def cmd_train_actors(args) -> int:
    from .config import load_config
    from .train import add_actor_head

    cfg = load_config(args.config)
    metrics = add_actor_head(cfg, args.model, export=args.onnx, check_file=args.check)
    report = metrics["actor_head"]
    print(f"actor head fitted on {report['sentences']} act sentences in {report['fit_seconds']:.0f} s")
    for name, m in metrics["eval"].items():
        a = m.get("actors")
        if a:
            print(f"{name}: source exact {a['source']['exact_match']:.3f}  target exact {a['target']['exact_match']:.3f}"
                  f"  (n={a['n']})")
    print(f"model updated: {args.model}")
    return 0


def cmd_export_onnx(args) -> int:
    from .onnx_export import export_onnx

    result = export_onnx(args.model, quantize=args.quantize, check_file=args.check, max_drop=args.max_drop)
    for line in result.summary():
        print(line)
    return 0


def cmd_data_export(args) -> int:
    from .standoff import export_standoff

    n = export_standoff(args.labels_file, args.texts, args.output, split=args.split, articles=args.articles)
    print(f"wrote {n} {'articles' if args.articles else 'sentences'} to {args.output}", file=sys.stderr)
    return 0


def cmd_data_check(args) -> int:
    from .datacheck import check_corpus, format_report
    from .labels import DEFAULT_LABELS

    labels = None if args.any_labels else (args.labels.split(",") if args.labels else DEFAULT_LABELS)
    if args.texts:
        from .standoff import check_standoff, format_standoff_report

        reports = [check_standoff(f, args.texts, labels) for f in args.files]
        for f, report in zip(args.files, reports):
            print(format_standoff_report(f, report))
        return 0 if all(r.ok for r in reports) else 1
    report = check_corpus(args.files, labels, near_threshold=args.near)
    print(format_report(report))
    return 0 if report.ok else 1


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claimclf",
        description="Label news sentences as accusation, denial, agreement, military_deployment or other.")
    parser.add_argument("--version", action="version", version=f"claimclf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("predict", help="classify every sentence of articles",
                       description="Classify every sentence of articles (.txt files, folders of .txt, or .jsonl "
                                   "with id and text per line). One record per sentence.")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help=".txt article, folder of .txt, or .jsonl of articles")
    p.add_argument("--sentences", metavar="FILE.jsonl",
                   help="classify each line's 'text' as one sentence (no segmentation), keeping its 'id'")
    p.add_argument("--output", "-o", metavar="FILE", help="write here (atomically) instead of stdout")
    p.add_argument("--format", choices=("jsonl", "csv", "table"),
                   help="default: table at a terminal, else jsonl (csv for an --output ending in .csv)")
    p.add_argument("--threshold", type=_threshold, metavar="P",
                   help="a sentence whose top act score is below P is 'other' (more precision)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from --output's .partial file")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local (default) or ray: a Ray Data job (pip install 'claimclf[ray]'; RAY_ADDRESS for a cluster)")
    p.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    _model_args(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="score a model against gold labels",
                       description="Score a model on a gold file: sentence JSONL/CSV, or an article file with "
                                   "'sentences' (scored through segmentation).")
    p.add_argument("--gold", required=True, metavar="FILE", help="gold file")
    p.add_argument("--report-dir", metavar="DIR", help="write metrics.json, report.md, confusion_matrix.png, errors.jsonl "
                   "(and actor_errors.jsonl where the gold has actors)")
    p.add_argument("--texts", metavar="DOCS.jsonl",
                   help="--gold is a standoff label file (story id + offsets); read its documents from here")
    p.add_argument("--split", choices=("train", "dev", "test"), help="with --texts: score only this split's stories")
    p.add_argument("--threshold", type=_threshold, metavar="P", help="as for predict")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _model_args(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="fine-tune a model from a YAML config",
                       description="Fine-tune a transformer on a labeled corpus (config: training/configs/*.yaml).")
    p.add_argument("--config", required=True, metavar="FILE", help="YAML training config")
    p.add_argument("--output", metavar="DIR", help="model folder to write (default: the config's output_dir)")
    p.add_argument("--epochs", type=float, help="override the config's epochs")
    seed = p.add_mutually_exclusive_group()
    seed.add_argument("--seed", type=int, help="override the config's seed")
    seed.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                      help="restarts: train once per seed, keep the run that ranks best on dev (test never decides)")
    p.add_argument("--base-model", metavar="PATH_OR_ID",
                   help="override the config's base model: a folder, a hub id, 'packaged' (all-MiniLM-L6-v2) or "
                        "'all-mpnet-base-v2' (from its PyPI parts)")
    p.add_argument("--teacher", metavar="DIR", help="distill from this trained model (the config's teacher "
                   "settings, or weight 0.5 and temperature 2)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("train-actors", help="add an actor head (source/target spans) to a trained model",
                       description="Fit the actor head (who did what to whom) of a trained model on the config's "
                                   "training data, keeping its encoder and sentence head as they are; remake its "
                                   "ONNX copies and update its metrics and model card. 'claimclf train' does this "
                                   "itself when the training data gives source/target spans.")
    p.add_argument("--model", required=True, metavar="DIR", help="model folder to update (in place, atomically)")
    p.add_argument("--config", required=True, metavar="FILE", help="YAML training config (its data and actor_* settings)")
    p.add_argument("--check", metavar="GOLD", help="gold sentences for the int8 ONNX check (default: the config's dev)")
    p.add_argument("--onnx", action=argparse.BooleanOptionalAction, default=True, help="remake the ONNX copies")
    p.set_defaults(func=cmd_train_actors)

    p = sub.add_parser("export-onnx", help="export a model to ONNX (optionally int8) for faster CPU inference",
                       description="Write DIR/onnx/model.onnx (the fp32 graph; its weights are read from "
                                   "DIR/model.safetensors) and model_quantized.onnx (static int8, activation scales "
                                   "calibrated on --check's sentences; kept only when the default path's macro-F1 on "
                                   "them stays within --max-drop of fp32). claimclf train does this at its end.")
    p.add_argument("--model", metavar="DIR", help="model folder (default: the shipped model)")
    p.add_argument("--quantize", action=argparse.BooleanOptionalAction, default=True,
                   help="also write the static int8 copy (default: yes; needs --check)")
    p.add_argument("--check", metavar="GOLD", help="gold sentences (e.g. dev) to calibrate int8 on and compare "
                                                    "fp32 and int8 macro-F1 on")
    p.add_argument("--max-drop", type=float, default=0.005, help="largest macro-F1 drop allowed for int8 (0.005)")
    p.set_defaults(func=cmd_export_onnx)

    p = sub.add_parser("data", help="corpus tools", description="Corpus tools.")
    dsub = p.add_subparsers(dest="data_command", metavar="COMMAND")
    c = dsub.add_parser("check", help="validate corpus files and look for duplicates and leakage",
                        description="Count labels per file, find malformed lines, unknown labels, duplicates, "
                                    "and near duplicates across files (leakage). Exits 1 on any error.")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--labels", help="comma-separated label set (default: the five default labels)")
    c.add_argument("--any-labels", action="store_true", help="accept any label")
    c.add_argument("--near", type=_threshold, default=0.6, help="word-trigram Jaccard for near duplicates (0.6)")
    c.add_argument("--texts", metavar="DOCS.jsonl",
                   help="FILES are standoff label files (story id + offsets, no text); check them against these "
                        "documents ({id, text} per line): offsets, sentences matching the segmenter, spans, splits")
    c.set_defaults(func=cmd_data_check)
    e = dsub.add_parser("export", help="write a standoff label file's sentences or articles with their text",
                        description="Join a standoff label file with its texts and write JSON Lines that train and "
                                    "evaluate read: sentences ({id, text, label, labels?, source, target}) or "
                                    "articles ({id, text, sentences}). Keep the output out of version control "
                                    "when the texts may not be redistributed.")
    e.add_argument("labels_file", metavar="LABELS.jsonl")
    e.add_argument("--texts", required=True, metavar="DOCS.jsonl", help="documents, {id, text} per line")
    e.add_argument("--split", choices=("train", "dev", "test"), help="only the stories of this split")
    e.add_argument("--articles", action="store_true", help="one article per line instead of one sentence")
    e.add_argument("--output", "-o", required=True, metavar="FILE", help="JSON Lines to write (atomically)")
    e.set_defaults(func=cmd_data_export)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except ClaimClfError as exc:
        print(f"claimclf: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("claimclf: interrupted (predict --output FILE --resume continues where it stopped)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(_one_line(f"claimclf: error: {where}{exc.strerror or exc}"), file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
