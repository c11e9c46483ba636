"""The ``cxnlp`` command line (typer)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cxnlp import __version__
from cxnlp.taxonomy import Taxonomy, TaxonomyError

app = typer.Typer(
    name="cxnlp",
    help="Tag what customers write about the people who served them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a one-line error and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        console.print(f"cxnlp {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """cxnlp: staff soft skills and Albrecht's seven sins of service in customer comments."""


TaxonomyOpt = Annotated[
    Path | None, typer.Option("--taxonomy", help="A taxonomy TOML file (default: the bundled cx-default taxonomy).")
]


def _load_taxonomy(path: Path | None) -> Taxonomy:
    try:
        return Taxonomy.load(path)
    except TaxonomyError as exc:
        raise fail(str(exc)) from None


@app.command()
def labels(
    taxonomy: TaxonomyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the taxonomy as JSON.")] = False,
) -> None:
    """List the taxonomy's labels and their output keys."""
    tax = _load_taxonomy(taxonomy)
    if as_json:
        typer.echo(json.dumps(tax.to_dict(), indent=2, ensure_ascii=False))
        return
    table = Table(
        title=f"{tax.name} {tax.version}: {len(tax.skills)} skills, {len(tax.sins)} sins, {len(tax.keys)} keys"
    )
    table.add_column("label", style="bold")
    table.add_column("kind")
    table.add_column("keys")
    table.add_column("description", overflow="fold")
    for lab in tax.labels:
        table.add_row(lab.name, lab.kind, " ".join(lab.keys), lab.description)
    console.print(table)


# ----------------------------------------------------------------- training
@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", help="Model directory to write, e.g. models/my-model.")],
    data: Annotated[
        str | None, typer.Option("--data", help="Labeled data: split dir, CSV, JSONL or Label Studio JSON.")
    ] = None,
    add_data: Annotated[
        str | None,
        typer.Option("--add-data", help="Your labeled file, added to --data (default: the project's data)."),
    ] = None,
    text_column: Annotated[
        str | None, typer.Option("--text-column", help="Column holding the comment in labeled CSV/JSONL.")
    ] = None,
    labels_column: Annotated[
        str | None, typer.Option("--labels-column", help="Column holding the ;-separated keys (default: labels).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Training settings (TOML or JSON).")] = None,
    family: Annotated[str | None, typer.Option("--family", help="fast or encoder.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (same seed, same data: same model).")] = None,
    distill: Annotated[
        str | None, typer.Option("--distill", help="JSONL of soft-labeled segments (encoder predictions).")
    ] = None,
    weak: Annotated[
        str | None, typer.Option("--weak", help="Weak-labeled JSONL from `cxnlp weak-label` (weighted by weak_weight).")
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override any setting: NAME=VALUE.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out if it exists.")] = False,
) -> None:
    """Train a model, calibrate and tune thresholds on dev, write a model directory.

    --data takes a split directory (train.jsonl and dev.jsonl, as data/annotated), or one CSV/TSV, JSONL or
    Label Studio JSON file, split 80/20 into train and dev (identical comments kept on one side). Without
    --data the project's annotated data is used. --add-data adds your labeled file to it: 80 % of your
    comments join train, 20 % join dev (so scores and thresholds fit your domain too), and comments already
    in the data are left out. The directory is written only when training has finished.
    """
    from cxnlp.data import DataError
    from cxnlp.modelcard import model_card
    from cxnlp.models.base import ModelDirError
    from cxnlp.models.model import check_new_model_dir, write_model_dir
    from cxnlp.training import TrainConfig
    from cxnlp.training import train as run_training

    try:
        check_new_model_dir(out, overwrite)
        cfg = TrainConfig.from_file(config) if config else TrainConfig()
        given = {
            "data": data,
            "add_data": add_data,
            "text_column": text_column,
            "labels_column": labels_column,
            "family": family,
            "seed": seed,
            "distill": distill,
            "weak": weak,
        }
        cfg = cfg.updated({k: v for k, v in given.items() if v is not None}).with_overrides(set_ or [])
        model, metrics, splits = run_training(cfg, log=lambda m: err.print(m, highlight=False))
        model.meta["name"] = out.name
        write_model_dir(model, out, metrics, model_card(model, metrics), overwrite=overwrite)
    except (DataError, ModelDirError, TaxonomyError, ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    _report_new_model(model, metrics, out)


def _report_new_model(model, metrics: dict, out: Path) -> None:
    """What train and ensemble print once the directory is written: warnings, the dev table, the path."""
    missing = model.meta["training_data"].get("calibration_without_positives") or []
    if missing:
        err.print(
            f"[yellow]warning:[/] no dev comment carries {len(missing)} keys ({', '.join(missing)}): their scores are"
            " uncalibrated and their thresholds untuned; add labeled comments with them to dev",
            highlight=False,
        )
    _print_metrics(metrics["dev"], f"dev ({metrics['dev']['n_comments']} comments)")
    console.print(f"model written to [bold]{out}[/]")


@app.command()
def ensemble(
    members: Annotated[list[Path], typer.Argument(help="Two or more trained model directories (e.g. fast + encoder).")],
    out: Annotated[Path, typer.Option("--out", help="Model directory to write, e.g. models/cx-accurate.")],
    weights: Annotated[
        str | None, typer.Option("--weights", help="Comma-separated member weights (default: equal).")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out if it exists.")] = False,
) -> None:
    """Combine trained models into one that tags more accurately (and at the slowest member's pace).

    The members' calibrated log-odds are averaged, then calibrated and thresholded anew on the data the
    members were calibrated on. The new directory holds a copy of every member.
    """
    from cxnlp.data import DataError
    from cxnlp.inference import resolve_model
    from cxnlp.modelcard import model_card
    from cxnlp.models.base import ModelDirError
    from cxnlp.models.model import CXModel, check_new_model_dir, write_model_dir
    from cxnlp.training import fit_ensemble

    try:
        check_new_model_dir(out, overwrite)
        w = [float(x) for x in weights.split(",")] if weights else None
        model, metrics = fit_ensemble(
            [CXModel.load(resolve_model(m)) for m in members], w, log=lambda m: err.print(m, highlight=False)
        )
        model.meta["name"] = out.name
        write_model_dir(model, out, metrics, model_card(model, metrics), overwrite=overwrite)
    except (DataError, ModelDirError, TaxonomyError, ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    _report_new_model(model, metrics, out)


@app.command()
def calibrate(
    model: Annotated[Path, typer.Argument(help="Model directory to start from (it is not changed).")],
    data: Annotated[
        Path, typer.Option("--data", help="Labeled comments from your domain: CSV/TSV, JSONL or Label Studio JSON.")
    ],
    out: Annotated[Path, typer.Option("--out", help="New model directory to write, e.g. models/cx-mine.")],
    text_column: Annotated[
        str | None, typer.Option("--text-column", help="Column holding the comment (default: found by name).")
    ] = None,
    labels_column: Annotated[
        str, typer.Option("--labels-column", help="Column of label keys separated by ';' (or use 0/1 key columns).")
    ] = "labels",
    id_column: Annotated[str, typer.Option("--id-column", help="Column holding a row id.")] = "id",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out if it exists.")] = False,
) -> None:
    """Adapt a model's calibration and thresholds to your domain from 50-300 labeled comments (no retraining).

    Writes a new model directory: the same weights, refitted per-label calibration and thresholds, the
    sample's provenance in config.json, metrics.json (in-sample on the sample) and an updated model card.
    """
    import warnings

    from cxnlp.calibration import CalibrationWarning
    from cxnlp.calibration import calibrate as run_calibration
    from cxnlp.data import DataError, read_labeled
    from cxnlp.inference import resolve_model
    from cxnlp.models.base import ModelDirError
    from cxnlp.models.model import CXModel

    try:
        base = CXModel.load(resolve_model(model))
        records = read_labeled(data, base.taxonomy, text_column, labels_column, id_column)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CalibrationWarning)
            new = run_calibration(base, records, source=data.name, out=out, overwrite=overwrite)
    except (DataError, ModelDirError, TaxonomyError, OSError) as exc:
        raise fail(str(exc)) from None
    for w in caught:
        err.print(f"[yellow]warning:[/] {w.message}", highlight=False)
    info = new.meta["calibrated"]
    method = info["method"]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    before, after = metrics["calibration_sample_base"], metrics["calibration_sample"]
    _print_metrics(after, f"{data.name} ({len(records)} comments), IN-SAMPLE after calibration")
    console.print(
        f"on the sample: micro F1 {before['micro']['f1']:.3f} -> {after['micro']['f1']:.3f}, macro F1"
        f" {before['macro_f1']:.3f} -> {after['macro_f1']:.3f}, ECE {before['ece']} -> {after['ece']}"
        " (in-sample: fitted on these comments; evaluate on others)",
        highlight=False,
    )
    rule = method["threshold_rule"]
    console.print(
        f"calibration prior strength {method['prior_strength']:g}; thresholds: {rule}"
        + (f" ({method['shared_threshold']:.3f} for every key with a positive)" if rule == "shared" else " per key"),
        highlight=False,
    )
    console.print(f"model written to [bold]{out}[/]")


def _print_metrics(m: dict, title: str) -> None:
    table = Table(title=f"{title}: micro F1 {m['micro']['f1']:.3f}, macro F1 {m['macro_f1']:.3f}, ECE {m['ece']}")
    for col in ("label", "precision", "recall", "f1", "support"):
        table.add_column(col, justify="left" if col == "label" else "right")
    for k, v in m["per_label"].items():
        table.add_row(k, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", str(v["support"]))
    console.print(table)


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="Model directory.")],
    data: Annotated[str | None, typer.Option("--data", help="Split dir or labeled file (default: bundled).")] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="test (default), dev, train, ood_dev, ood_test, ood_wide_dev, ood_wide_test, negation_dev or"
            " negation_test (split dirs only).",
        ),
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help="HTML report path.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write metrics.json and the report (unless --report) here; the model directory is left as is."
        ),
    ] = None,
    baselines: Annotated[bool, typer.Option(help="Also score the keyword and zero-shot baselines.")] = True,
) -> None:
    """Score a model on labeled data: per-label table, metrics.json and an HTML report.

    The scores are added to the model directory's metrics.json and model card (README.md), keyed by the
    split (prefixed with the data's name when it is not the data the model was trained on), and the
    report is written there as report_<split>.html unless --report says otherwise.  With --out they go
    to that directory instead, which suits a model that is shared, installed or read-only.
    """
    from cxnlp.data import BUNDLED_DATA, DataError, load_records, read_labeled
    from cxnlp.evaluation import KeywordBaseline, ZeroShotBaseline, evaluate_records, html_report
    from cxnlp.inference import resolve_model
    from cxnlp.models.base import ModelDirError
    from cxnlp.models.model import CXModel

    model = resolve_model(model)
    try:
        m = CXModel.load(model)
        path = Path(data) if data else None
        if path is None or (path.is_dir() and (path / "train.jsonl").exists()):
            all_splits = load_records(path, m.taxonomy)
            split = split or "test"
            if split not in all_splits:
                raise DataError(f"--split {split!r}: {data or 'the bundled data'} has {', '.join(all_splits)}")
            records, dev = all_splits[split], all_splits["dev"]
            source = data or BUNDLED_DATA
            if source != m.meta.get("training_data", {}).get("source", BUNDLED_DATA):
                # Not the model's own data: its dev / test figures keep their names.
                split = f"{Path(data).name if data else 'bundled'}:{split}"
        else:
            if split:
                err.print(f"--split {split} ignored: {path} is a single file, scored whole", highlight=False)
            records, dev = read_labeled(path, m.taxonomy), None
            split = path.name
        results = {f"{m.meta.get('name', model.name)} ({m.family})": evaluate_records(m, records)}
        if baselines:
            results["keyword baseline"] = evaluate_records(KeywordBaseline(m.taxonomy), records)
            try:
                zs = ZeroShotBaseline(m.taxonomy)
                if dev is not None:
                    zs.fit_threshold(dev)
                results["zero-shot baseline"] = evaluate_records(zs, records)
                results["zero-shot baseline"]["threshold"] = zs.threshold
            except (ImportError, ModelDirError) as exc:
                err.print(f"zero-shot baseline skipped: {exc}")
    except (DataError, ModelDirError, TaxonomyError, KeyError, OSError) as exc:
        raise fail(str(exc)) from None
    main_name = next(iter(results))
    _print_metrics(results[main_name], f"{main_name} on {split} ({len(records)} comments)")
    for name, r in list(results.items())[1:]:
        console.print(f"{name}: micro F1 {r['micro']['f1']:.3f}, macro F1 {r['macro_f1']:.3f}")
    from cxnlp.io import write_text_atomic
    from cxnlp.modelcard import model_card

    if out is not None and out.resolve() == model.resolve():
        out = None  # the model directory itself: its card is updated too
    target = out or model
    metrics_path = target / "metrics.json"
    report = report or target / f"report_{split.replace(':', '_')}.html"
    try:
        saved = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    except (OSError, json.JSONDecodeError) as exc:
        raise fail(f"{metrics_path}: cannot read the scores saved there: {exc}") from None
    if not isinstance(saved, dict):
        raise fail(f"{metrics_path}: not a metrics file (a JSON object of scores by split)")
    saved[split] = results[main_name]
    saved[f"{split}_baselines"] = {
        n: {k: r[k] for k in ("micro", "macro_f1", "per_label")} for n, r in results.items() if n != main_name
    }
    try:
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        # The report first: if it cannot be written, the saved scores are left as they were. Each file goes
        # through a temporary file and a rename, so a failed write leaves the old one.
        html = html_report(f"cxnlp evaluation: {model.name} on {split}", results, m.keys, main_name)
        write_text_atomic(report, html)
        write_text_atomic(metrics_path, json.dumps(saved, indent=2) + "\n")
        if out is None:
            write_text_atomic(model / "README.md", model_card(m, saved))  # the card shows every split scored
    except OSError as exc:
        where = exc.filename or target
        inside = out is None and Path(where).resolve().is_relative_to(model.resolve())
        hint = " (--out DIR writes the results elsewhere)" if inside else ""
        raise fail(f"cannot save the evaluation to {where}: {exc.strerror or exc}{hint}") from None
    console.print(f"metrics: {metrics_path}  report: {report}")


# ------------------------------------------------------------------- tagging
@app.command()
def tag(
    input: Annotated[
        str, typer.Argument(help="Comments file (.csv .tsv .jsonl .json .parquet .xlsx .txt, .gz) or - (stdin).")
    ],
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="Output: .jsonl .csv .tsv .parquet .xlsx, .gz for the text ones (default: INPUT.tagged.jsonl).",
        ),
    ] = None,
    text_column: Annotated[str | None, typer.Option("--text-column", help="Column holding the comment.")] = None,
    id_column: Annotated[str | None, typer.Option("--id-column", help="Column holding a row id.")] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="Model directory, or a bundled model's name: cx-default (the default), cx-accurate."
        ),
    ] = None,
    layout: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="long (a tags list per row) or wide (score_/tag_ columns per key). "
            "Default: long for .jsonl, wide otherwise.",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Rows per chunk.")] = 2000,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes (each loads the model once).")] = 1,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted job.")] = False,
    min_score: Annotated[float | None, typer.Option("--min-score", help="Drop tags scoring below this.")] = None,
    input_format: Annotated[
        str | None,
        typer.Option("--input-format", help="csv, tsv, jsonl, json, parquet, xlsx or lines (default: by extension)."),
    ] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="Text encoding of the input.")] = "utf-8",
    encoding_errors: Annotated[
        str, typer.Option("--encoding-errors", help="strict (stop at undecodable bytes), replace or ignore.")
    ] = "strict",
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="Default: on a terminal.")] = None,
    engine: Annotated[str, typer.Option("--engine", help="local (worker processes) or spark.")] = "local",
    master: Annotated[str, typer.Option("--master", help="Spark master (--engine spark).")] = "local[*]",
    spark_conf: Annotated[
        list[str] | None, typer.Option("--spark-conf", help="A Spark setting KEY=VALUE (--engine spark).")
    ] = None,
    ship_model: Annotated[
        bool, typer.Option("--ship-model", help="Copy the model to the executors (--engine spark).")
    ] = False,
    partitions: Annotated[
        int | None, typer.Option("--partitions", help="Repartition the input (--engine spark; default: auto).")
    ] = None,
) -> None:
    """Tag a comment export in bulk: streams in chunks, writes atomically, can resume.

    With --engine spark the input (a CSV/TSV/JSONL/JSON/Parquet file, directory or glob) is read and tagged
    by Spark, and --out is written as a directory of Parquet files.
    """
    # Tagging needs no torch unless the model is an encoder (which imports it itself); Spark's
    # Python workers inherit this too.
    os.environ.setdefault("CXNLP_SPACY_WITHOUT_TORCH", "1")
    if engine == "spark":
        _tag_with_spark(
            input=input,
            out=out,
            text_column=text_column,
            model=model,
            layout=layout,
            batch_size=batch_size,
            min_score=min_score,
            input_format=input_format,
            encoding=encoding,
            progress=progress,
            master=master,
            spark_conf=spark_conf or [],
            ship_model=ship_model,
            partitions=partitions,
            resume=resume,
            workers=workers,
        )
        return
    if engine != "local":
        raise fail(f"--engine {engine!r}: use local or spark")
    from cxnlp.batch import JobSpec, run_job
    from cxnlp.inference import resolve_model
    from cxnlp.io import InputError, output_format
    from cxnlp.models.base import ModelDirError, read_model_config

    if input == "-" and out is None:
        out = "tagged.jsonl"
    out = out or f"{input.removesuffix('.gz')}.tagged.jsonl"
    model_path = str(resolve_model(model))
    try:
        fmt = output_format(out, None)
        # Fail fast, before reading any input, without loading the weights here: with --workers the
        # parent never tags, and a model held in it would only add to the job's memory.
        read_model_config(model_path)
        spec = JobSpec(
            input=input,
            out=out,
            fmt=fmt,
            layout=layout or ("long" if fmt == "jsonl" else "wide"),
            model=model_path,
            text_column=text_column,
            id_column=id_column,
            batch_size=batch_size,
            workers=workers,
            min_score=min_score,
            input_format=input_format,
            encoding=encoding,
            encoding_errors=encoding_errors,
        )
        if spec.layout not in ("long", "wide"):
            raise InputError(f"--format {spec.layout!r}: use long or wide")
        summary = run_job(spec, resume=resume, progress=progress)
    except (InputError, ModelDirError) as exc:
        raise fail(str(exc)) from None
    for msg in summary.rejected_examples:
        err.print(f"[yellow]rejected:[/] {msg}", highlight=False)
    if summary.rejected and not summary.rows_read:
        raise fail(f"{input}: every row was rejected ({summary.rejected}); is --input-format right?")
    if summary.duplicate_ids:
        err.print(f"[yellow]warning:[/] {summary.duplicate_ids} rows repeat an id seen before", highlight=False)
    rate = summary.rows_read / summary.seconds if summary.seconds else 0
    console.print(
        f"{summary.rows_read} rows read, {summary.tagged} tagged, {summary.empty} empty, {summary.rejected} rejected"
        f" ({summary.seconds:.1f}s, {rate:,.0f} rows/s) -> {out}",
        highlight=False,
    )
    top = list(summary.label_counts.items())[:10]
    if top:
        console.print("top tags: " + ", ".join(f"{k} {v}" for k, v in top), highlight=False)


def _tag_with_spark(
    input: str,
    out: str | None,
    text_column: str | None,
    model: str | None,
    layout: str | None,
    batch_size: int,
    min_score: float | None,
    input_format: str | None,
    encoding: str,
    progress: bool | None,
    master: str,
    spark_conf: list[str],
    ship_model: bool,
    partitions: int | None,
    resume: bool,
    workers: int,
) -> None:
    """``cxnlp tag --engine spark``: read with Spark, tag with mapInPandas, write partitioned Parquet."""
    import sys
    import time
    import warnings

    from cxnlp.inference import resolve_model
    from cxnlp.io import TEXT_COLUMNS, InputError, detect_column
    from cxnlp.models.base import ModelDirError

    if resume:
        raise fail("--resume is for the local engine; Spark retries failed tasks itself")
    if workers != 1:
        raise fail("--workers is for the local engine; with --engine spark set --master local[N] or a cluster URL")
    if not out:
        raise fail("--engine spark needs --out: the Parquet directory to write")
    if Path(out).exists():
        raise fail(f"{out}: already exists; delete it or choose another --out")
    conf = {}
    for item in spark_conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"--spark-conf {item!r}: use KEY=VALUE")
        conf[key.strip()] = value.strip()
    try:
        import cxnlp.spark as cxs
    except ImportError as exc:
        raise fail(str(exc)) from None
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    warnings.filterwarnings("ignore", message=cxs.PANDAS3_WARNING, category=FutureWarning)
    fmt = layout or "wide"  # Parquet output, as the local engine: wide unless --format long
    model_path = str(resolve_model(model))
    show = sys.stderr.isatty() if progress is None else progress
    t0 = time.time()
    started_here = cxs.SparkSession.getActiveSession() is None
    spark = None
    try:
        cxs.added_fields([], fmt)  # --format checked before Spark starts
        keys = cxs.check_model(model_path, min_score)  # and the model, before Spark starts
        t_spark = time.time()
        spark = cxs.spark_session(master, conf=conf, batch_size=batch_size, progress=show)
        t1 = time.time()
        sdf = cxs.read_comments(spark, input, input_format, encoding)
        text_col = detect_column(list(sdf.columns), text_column, TEXT_COLUMNS, "text", input)
        tagged = cxs.tag_dataframe(
            cxs.spread(sdf, partitions), text_col, model_path, fmt, batch_size, min_score, ship_model
        )
        tagged.write.mode("errorifexists").parquet(out)
        seconds = time.time() - t0
        added = [f.name for f in cxs.added_fields(keys, fmt)]
        name = cxs.added_names(sdf.columns, added)
        counts = _spark_summary(spark, out, fmt, keys, name)
    except (InputError, ModelDirError, cxs.SparkSetupError) as exc:
        raise fail(str(exc)) from None
    except (PySparkException, Py4JJavaError) as exc:
        raise fail(_spark_error(exc)) from None
    finally:
        if spark is not None and started_here:
            spark.stop()
    rows, empty, top = counts
    work = seconds - (t1 - t0)
    console.print(
        f"{rows} rows read, {rows - empty} tagged, {empty} empty ({seconds:.1f}s: Spark start-up {t1 - t_spark:.1f}s,"
        f" then {rows / work if work > 0 else 0:,.0f} rows/s) -> {out}/ (Parquet, {fmt})",
        highlight=False,
    )
    if top:
        console.print("top tags: " + ", ".join(f"{k} {v}" for k, v in top[:10]), highlight=False)


def _spark_summary(spark, out: str, fmt: str, keys: list[str], name: dict[str, str]) -> tuple[int, int, list]:
    """Rows, empty rows and tag counts, from the Parquet just written (a cheap column scan)."""
    from pyspark.sql import functions as F

    df = spark.read.parquet(out)
    empty = (F.col(f"`{name['status']}`") == "empty").cast("long")
    if fmt == "long":
        row = df.agg(F.count("*"), F.sum(empty)).first()
        keyed = df.select(F.explode(f"`{name['tags']}`").alias("t")).groupBy("t.key").count().collect()
        counts = {r["key"]: r["count"] for r in keyed}
    else:
        row = df.agg(F.count("*"), F.sum(empty), *[F.sum(F.col(f"`{name[f'tag_{k}']}`")) for k in keys]).first()
        counts = {k: int(row[2 + i] or 0) for i, k in enumerate(keys)}
    top = sorted(((k, v) for k, v in counts.items() if v), key=lambda kv: -kv[1])
    return int(row[0]), int(row[1] or 0), top


def _spark_error(exc: Exception) -> str:
    """One line from a Spark error: the Python exception raised in a worker, or Spark's own message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]+(Error|Exception): ", line):
            return line
    return lines[0] if lines else type(exc).__name__


# --------------------------------------------------------- weak supervision
@app.command("weak-label")
def weak_label(
    corpus: Annotated[list[str], typer.Argument(help="Comment exports (.csv .tsv .jsonl .json .parquet .xlsx, .gz).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Weak-labeled JSONL to write (.jsonl or .jsonl.gz).")
    ] = None,
    text_column: Annotated[str | None, typer.Option("--text-column", help="Column holding the comment.")] = None,
    id_column: Annotated[str | None, typer.Option("--id-column", help="Column holding a row id.")] = None,
    dev: Annotated[
        str | None,
        typer.Option(
            "--dev",
            help="Labeled comments (split dir: its dev split; or a labeled file) that anchor and "
            "calibrate the label model and score the LFs.",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="Labeled data (split dir or file) whose comments are left out of --out."),
    ] = None,
    calibrate: Annotated[
        bool, typer.Option("--calibrate", help="Also Platt-scale the label model on --dev (per key).")
    ] = False,
    analyse: Annotated[bool, typer.Option("--analyse", help="Print the LF analysis and write an HTML report.")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="HTML report path (implies --analyse).")] = None,
    lf_module: Annotated[
        list[str] | None, typer.Option("--lf-module", help="Python module or .py file registering more LFs.")
    ] = None,
    lfs: Annotated[
        str | None, typer.Option("--lfs", help="Comma-separated LF names (default: all registered).")
    ] = None,
    save_model: Annotated[
        Path | None, typer.Option("--save-model", help="Write the fitted label model (JSON).")
    ] = None,
    label_model: Annotated[
        Path | None, typer.Option("--label-model", help="Use a label model saved by --save-model instead of fitting.")
    ] = None,
    taxonomy: TaxonomyOpt = None,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="Default: on a terminal.")] = None,
) -> None:
    """Label a corpus with labeling functions and a label model: probabilities and evidence per key."""
    import sys
    import time

    from cxnlp.data import DataError
    from cxnlp.io import InputError

    if out is None and not (analyse or report):
        raise fail("nothing to do: pass --out FILE and/or --analyse")
    if calibrate and not dev:
        raise fail("--calibrate needs --dev (labeled comments to calibrate on)")
    tax = _load_taxonomy(taxonomy)
    t0 = time.perf_counter()
    try:
        from tqdm.auto import tqdm

        from cxnlp.data import write_jsonl
        from cxnlp.weak import WeakLabeler, build_lfs
        from cxnlp.weak.corpus import GoldIndex, load_labeled, read_comments
        from cxnlp.weak.corpus import weak_label as run_weak
        from cxnlp.weak.label_model import LabelModel

        for mod in lf_module or []:
            _import_lf_module(mod)
        names = [n.strip() for n in lfs.split(",") if n.strip()] if lfs else None
        labeler = WeakLabeler(build_lfs(tax, names))
        comments = read_comments(corpus, text_column, id_column)
        dev_records = load_labeled(dev, tax, "dev") if dev else None
        lm = LabelModel.load(label_model, tax) if label_model else None
        show = sys.stderr.isatty() if progress is None else progress
        with tqdm(total=len(comments), desc="weak-label", unit=" comments", disable=not show, file=sys.stderr) as bar:
            result = run_weak(comments, labeler, dev_records, lm, progress=bar.update, calibrate=calibrate)
        records = result.records
        if exclude:
            gold = GoldIndex(r for path in exclude for r in load_labeled(path, tax, None))
            kept = [r for r in records if r not in gold]
            err.print(f"left out {len(records) - len(kept)} comments that are in {', '.join(exclude)}")
            records = kept
        if out is not None:
            write_jsonl(out, records)
        if save_model is not None:
            result.label_model.save(save_model)
    except (DataError, InputError, TaxonomyError, KeyError, ValueError, OSError) as exc:
        raise fail(str(exc).strip("'\"")) from None
    seconds = time.perf_counter() - t0
    n_lab = sum(bool(r["labels"]) for r in records)
    from collections import Counter

    counts = Counter(k for r in records for k in r["labels"])
    console.print(
        f"{len(comments)} comments, {len(labeler.lfs)} LFs: {n_lab} written with at least one label"
        f" ({seconds:.1f}s; LFs {result.timings['lfs']:.1f}s, label model {result.timings['label_model']:.1f}s)"
        + (f" -> {out}" if out else ""),
        highlight=False,
    )
    if counts:
        console.print("top labels: " + ", ".join(f"{k} {v}" for k, v in counts.most_common(10)), highlight=False)
    if analyse or report:
        _weak_analysis(
            result,
            tax,
            report or (out.with_name(out.name.split(".")[0] + "_report.html") if out else Path("weak_report.html")),
        )


def _import_lf_module(name: str) -> None:
    import importlib
    import importlib.util

    if name.endswith(".py"):
        spec = importlib.util.spec_from_file_location(Path(name).stem, name)
        if spec is None or spec.loader is None:
            raise ValueError(f"{name}: cannot import")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        importlib.import_module(name)


def _weak_analysis(result, tax: Taxonomy, report: Path) -> None:
    from cxnlp.evaluation import scores
    from cxnlp.weak.analysis import html_report, key_summary, lf_summary
    from cxnlp.weak.label_model import majority_vote

    keys = list(tax.keys)
    lm = result.label_model
    lf_rows = lf_summary(result.votes, keys, result.dev_votes, result.dev_y, lm)
    key_rows = key_summary(result.votes, keys, result.probs, lm.predict(result.votes))
    table = Table(title="labeling functions (coverage over the corpus; precision on --dev when given)")
    for col in ("LF", "key", "coverage", "present", "absent", "overlap", "conflict", "prec. model", "prec. dev"):
        table.add_column(col, justify="left" if col in ("LF", "key") else "right")
    for r in lf_rows:
        pd_ = r.get("precision_dev")
        pm = r["precision_model"]
        table.add_row(
            r["lf"],
            r["key"],
            f"{100 * r['coverage']:.2f}%",
            str(r["present"]),
            str(r["absent"]),
            f"{r['overlap']:.2f}",
            f"{r['conflict']:.2f}",
            "" if pm is None else f"{pm:.2f}",
            "" if pd_ is None else f"{pd_:.2f} ({r.get('dev_present', 0)})",
        )
    Console(width=max(console.width, 150)).print(table)  # readable when piped to a file too
    kt = Table(title="per key")
    for col in ("key", "LFs", "coverage", "labeled", "mean p"):
        kt.add_column(col, justify="left" if col == "key" else "right")
    for r in key_rows:
        kt.add_row(r["key"], str(r["lfs"]), f"{100 * r['coverage']:.2f}%", str(r["labeled"]), f"{r['mean_prob']:.4f}")
    console.print(kt)
    score = None
    if result.dev_votes is not None:
        score = {
            "label model (fitted with these labels: in-sample)": scores(
                result.dev_y, lm.predict(result.dev_votes), keys
            ),
            "majority vote": scores(result.dev_y, majority_vote(result.dev_votes, keys, tax), keys),
        }
        for name, s in score.items():
            console.print(f"{name}: micro F1 {s['micro']['f1']:.3f}, macro F1 {s['macro_f1']:.3f}", highlight=False)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(
        html_report("cxnlp weak supervision: labeling functions", lf_rows, key_rows, score, len(result.votes)),
        encoding="utf-8",
    )
    console.print(f"report: {report}")
