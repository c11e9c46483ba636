"""Labeled data: the record schema, loaders, validation, splits and dedup.

A labeled comment is one JSON object::

    {"id": "h515k-…", "source": "hotel_reviews_515k", "text": "…",
     "labels": ["friendliness+", "coldness"],
     "spans": [{"label": "coldness", "start": 10, "end": 42}, …],
     "annotator": "…", "guideline": "1.1", "note": "", "synthetic": false}

The project's own annotated set lives in ``data/annotated/{train,dev,test}.jsonl``
and loads with :func:`load` as a Hugging Face ``DatasetDict``.  Users' labeled
data (CSV, JSONL, Label Studio JSON exports) is read into the same schema by
:func:`read_labeled`; every problem is reported with file, row and column.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import random
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cxnlp.taxonomy import Taxonomy

SPLITS = ("train", "dev", "test")
# Read when present: synthetic training comments (train only) and the
# out-of-domain evaluation set (never trained on).
OPTIONAL_SPLITS = (
    "train_synthetic",
    "ood_dev",
    "ood_test",
    "ood_wide_dev",
    "ood_wide_test",
    "negation_dev",
    "negation_test",
)
DATA_ENV = "CXNLP_DATA"


# training_data["source"] in the config of a model trained on the project's own annotated data
BUNDLED_DATA = "cxnlp bundled data/annotated"


class DataError(ValueError):
    """Bad labeled data; the message names the file, row and column."""


def default_data_dir() -> Path:
    """``$CXNLP_DATA`` or the repository's ``data/annotated``."""
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[1] / "data" / "annotated"


# ----------------------------------------------------------------- records
def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    out = []
    opener = gzip.open if path.suffix == ".gz" else open
    n = 0
    try:
        # utf-8-sig: a byte-order mark (Windows editors write one) is not part of the first record
        with opener(path, "rt", encoding="utf-8-sig") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}: row {n}: not valid JSON ({exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: row {n + 1}: not valid UTF-8 ({exc.reason}); save the file as UTF-8") from None
    return out


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write JSON Lines atomically (temporary file, then rename); gzip when the name ends in ``.gz``.

    The gzip header's timestamp is 0, so the same rows give the same bytes (a file's sha256 can be
    recorded as provenance and checked).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as raw:
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if path.suffix == ".gz" else None
        # closing the wrapper closes the stream under it; the gzip stream writes its trailer then
        with io.TextIOWrapper(gz or raw, encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)


def validate_record(
    rec: dict[str, Any], taxonomy: Taxonomy, where: str, columns: dict[str, str] | None = None
) -> dict[str, Any]:
    """Check one record against the schema and the taxonomy; return it normalised.

    ``columns`` maps the schema's ``text`` / ``labels`` to the names the user's file gives them, so
    that an error names the column the user sees.
    """
    col = {"text": "text", "labels": "labels", **(columns or {})}
    text = rec.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: column {col['text']!r}: missing or empty")
    labels = rec.get("labels", [])
    if isinstance(labels, str):
        labels = [x.strip() for x in re.split(r"[;,|]", labels) if x.strip()]
    if not isinstance(labels, list):
        raise DataError(f"{where}: column {col['labels']!r}: expected a list of label keys")
    known = set(taxonomy.keys)
    for lab in labels:
        if lab not in known:
            raise DataError(
                f"{where}: column {col['labels']!r}: unknown label {lab!r} (not in taxonomy {taxonomy.name})"
            )
    spans = rec.get("spans") or []
    for i, sp in enumerate(spans):
        try:
            lab, s, e = sp["label"], int(sp["start"]), int(sp["end"])
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{where}: column 'spans'[{i}]: needs label, start and end") from None
        if lab not in labels:
            raise DataError(f"{where}: column 'spans'[{i}]: label {lab!r} is not among the record's labels")
        if not 0 <= s < e <= len(text):
            raise DataError(f"{where}: column 'spans'[{i}]: offsets {s}..{e} outside the text (length {len(text)})")
        if "text" in sp and text[s:e] != sp["text"]:
            raise DataError(f"{where}: column 'spans'[{i}]: text[{s}:{e}] is {text[s:e]!r}, not {sp['text']!r}")
    out = dict(rec)
    out["labels"] = sorted(set(labels), key=taxonomy.keys.index)
    out["spans"] = spans
    out.setdefault("id", stable_id(text))
    out["id"] = str(out["id"])
    return out


def stable_id(text: str) -> str:
    return "c-" + hashlib.sha1(normalize(text).encode()).hexdigest()[:12]


# ------------------------------------------------------------- user data
def read_labeled(
    path: str | Path,
    taxonomy: Taxonomy | None = None,
    text_column: str | None = None,
    labels_column: str = "labels",
    id_column: str = "id",
) -> list[dict[str, Any]]:
    """Read a user's labeled comments (CSV/TSV, JSONL, Label Studio JSON) into records.

    CSV/TSV take either a ``labels`` column (keys separated by ``;``) or one
    0/1 column per taxonomy key.  Without ``text_column`` the text column is
    found by name as ``cxnlp tag`` finds it (``text``, ``comment``, ``review``...).
    A directory written by :func:`save_splits` or a Hugging Face dataset
    directory is read too (all its splits).
    """
    taxonomy = taxonomy or Taxonomy.default()
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    if path.is_dir():
        return [r for split in load_records(path, taxonomy=taxonomy).values() for r in split]
    if suffix in (".jsonl", ".ndjson"):
        raw = read_jsonl(path)
        if text_column is None:
            text_column = _text_column(list(raw[0]) if raw else ["text"], path)
        rows = [_rename(r, text_column, labels_column, id_column) for r in raw]
    elif suffix == ".json":
        return read_label_studio(path, taxonomy)  # validated task by task there
    elif suffix in (".csv", ".tsv"):
        return _read_csv(path, taxonomy, text_column, labels_column, id_column)  # validated row by row there
    else:
        raise DataError(f"{path}: unsupported labeled-data format {suffix!r} (use .csv, .tsv, .jsonl or .json)")
    return [validate_record(r, taxonomy, f"{path}: row {i + 1}") for i, r in enumerate(rows)]


def _rename(r: dict[str, Any], text_column: str, labels_column: str, id_column: str) -> dict[str, Any]:
    out = dict(r)
    for src, dst in ((text_column, "text"), (labels_column, "labels"), (id_column, "id")):
        if src != dst and src in out:
            out[dst] = out.pop(src)
    return out


def _text_column(columns: list[str], path: Path) -> str:
    from cxnlp.io import TEXT_COLUMNS, InputError, detect_column

    try:
        return detect_column(columns, None, TEXT_COLUMNS, "text", str(path))
    except InputError as exc:
        raise DataError(str(exc)) from None


def _read_csv(
    path: Path, taxonomy: Taxonomy, text_column: str | None, labels_column: str, id_column: str
) -> list[dict]:
    try:
        return _read_csv_rows(path, taxonomy, text_column, labels_column, id_column)
    except UnicodeDecodeError as exc:
        from cxnlp.io import undecodable_line

        where = undecodable_line(str(path), False, "utf-8")
        row = f"row {where[0]}: bytes {where[1]!r}" if where else "bytes"
        raise DataError(f"{path}: {row} are not valid UTF-8 ({exc.reason}); save the file as UTF-8") from None


def _read_csv_rows(
    path: Path, taxonomy: Taxonomy, text_column: str | None, labels_column: str, id_column: str
) -> list[dict]:
    # utf-8-sig: Excel's "CSV UTF-8" starts with a byte-order mark that would stick to the first column's name.
    with path.open(encoding="utf-8-sig", newline="") as fh:
        sample = fh.read(65536)
        fh.seek(0)
        reader = csv.DictReader(fh, delimiter=_delimiter(sample, path.suffix))
        cols = reader.fieldnames or []
        if text_column is None:
            text_column = _text_column(cols, path)
        if text_column not in cols:
            raise DataError(f"{path}: row 1: column {text_column!r} not found (columns: {', '.join(cols)})")
        key_cols = [c for c in cols if c in taxonomy.keys]
        if labels_column not in cols and not key_cols:
            raise DataError(f"{path}: row 1: no {labels_column!r} column and no per-label 0/1 columns")
        rows = []
        n = 2
        for row in reader:
            # Rows are numbered as lines of the file (the header is row 1), as a spreadsheet shows them;
            # a quoted comment with line breaks spans several, and its row is the one it starts on.
            n, start = reader.line_num + 1, n
            labels: list[str] = []
            if labels_column in row and row[labels_column]:
                labels = [x.strip() for x in re.split(r"[;,|]", row[labels_column]) if x.strip()]
            for c in key_cols:
                v = (row.get(c) or "").strip()
                if v not in ("", "0", "1", "0.0", "1.0"):
                    raise DataError(f"{path}: row {start}: column {c!r}: expected 0 or 1, got {v!r}")
                if v in ("1", "1.0"):
                    labels.append(c)
            rec = {"text": row[text_column], "labels": labels}
            if row.get(id_column):
                rec["id"] = row[id_column]
            names = {"text": text_column, "labels": labels_column}
            rows.append(validate_record(rec, taxonomy, f"{path}: row {start}", names))
    return rows


def _delimiter(sample: str, suffix: str) -> str:
    """The delimiter, sniffed from the header line (free text in the rows can defeat the sniffer), else
    from the sample, else by extension.  Quoting follows the usual CSV rules (``csv.excel``)."""
    header = sample.splitlines()[0] if sample else ""
    for text in (header, sample):
        try:
            return csv.Sniffer().sniff(text, delimiters=",\t;|").delimiter
        except csv.Error:
            continue
    return "\t" if suffix == ".tsv" else ","


def read_label_studio(path: str | Path, taxonomy: Taxonomy | None = None) -> list[dict[str, Any]]:
    """Read a Label Studio JSON export.

    Choices (``type: choices``) and taxonomy leaves (``type: taxonomy``)
    become comment labels; labeled spans (``type: labels``) become labels
    with their offsets.  The latest annotation of each task is used; tasks
    without one are skipped (with a warning).  A plain JSON array of
    ``{"text", "labels"}`` records is read as records.
    """
    taxonomy = taxonomy or Taxonomy.default()
    path = Path(path)
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise DataError(f"{path}: expected a Label Studio export (a JSON array of tasks)")
    if tasks and all("data" not in t and "text" in t for t in tasks):
        # A plain JSON array of {"text", "labels"} records, not a Label Studio export.
        return [validate_record(r, taxonomy, f"{path}: row {i + 1}") for i, r in enumerate(tasks)]
    out, unannotated = [], 0
    for n, task in enumerate(tasks, 1):
        data = task.get("data", {})
        text = data.get("text") or next((v for v in data.values() if isinstance(v, str)), None)
        anns = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
        if not anns:
            # Not yet labeled: reading it as "no label applies" would teach the model false negatives.
            unannotated += 1
            continue
        labels, spans = [], []
        latest = max(anns, key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""))
        for res in latest.get("result", []):
            value = res.get("value", {})
            labels += value.get("choices", [])
            # taxonomy results are paths such as ["Sins of service", "coldness"]: the leaf is the key
            labels += [p[-1] for p in value.get("taxonomy", []) if p]
            for lab in value.get("labels", []):
                labels.append(lab)
                if "start" in value and "end" in value:
                    spans.append({"label": lab, "start": value["start"], "end": value["end"]})
                    if "text" in value:
                        spans[-1]["text"] = value["text"]
        task_id = task.get("id", data.get("id"))
        rec = {
            "id": f"task-{n}" if task_id is None else task_id,
            "text": text,
            "labels": sorted(set(labels)),
            "spans": spans,
        }
        out.append(validate_record(rec, taxonomy, f"{path}: task {n}"))
    if unannotated:
        if not out:
            raise DataError(f"{path}: none of its {len(tasks)} tasks has an annotation")
        warnings.warn(f"{path}: {unannotated} tasks without an annotation were skipped", stacklevel=2)
    return out


# ------------------------------------------------------- project dataset
def load_records(
    data_dir: str | Path | None = None, taxonomy: Taxonomy | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The annotated splits as plain records: ``{"train": [...], "dev": [...], "test": [...]}``,
    plus ``train_synthetic``, ``ood_dev``, ``ood_test``, ``ood_wide_dev``, ``ood_wide_test``, ``negation_dev`` and
    ``negation_test`` where the directory has them."""
    taxonomy = taxonomy or Taxonomy.default()
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    out = {}
    for split in SPLITS + OPTIONAL_SPLITS:
        path = data_dir / f"{split}.jsonl"
        if not path.exists():
            # A user's directory for training needs only train and dev; test is for evaluation.
            if split in OPTIONAL_SPLITS or split == "test":
                continue
            raise DataError(f"{path}: split file missing (expected train.jsonl and dev.jsonl, test.jsonl optional)")
        out[split] = [validate_record(r, taxonomy, f"{path}: row {i + 1}") for i, r in enumerate(read_jsonl(path))]
    return out


def to_dataset(records: Sequence[dict[str, Any]], taxonomy: Taxonomy | None = None):
    """Records as a ``datasets.Dataset`` with a multi-label ``Sequence(ClassLabel)`` feature."""
    import datasets

    taxonomy = taxonomy or Taxonomy.default()
    # datasets >= 4 has List for a list of structs; Sequence of a dict means a dict of lists.
    List = getattr(datasets, "List", datasets.Sequence)  # noqa: N806
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "source": datasets.Value("string"),
            "text": datasets.Value("string"),
            "labels": List(datasets.ClassLabel(names=list(taxonomy.keys))),
            "spans": List(
                {"label": datasets.Value("string"), "start": datasets.Value("int32"), "end": datasets.Value("int32")}
            ),
            "synthetic": datasets.Value("bool"),
        }
    )
    cols: dict[str, list] = {k: [] for k in features}
    for r in records:
        cols["id"].append(r["id"])
        cols["source"].append(r.get("source", ""))
        cols["text"].append(r["text"])
        cols["labels"].append(list(r["labels"]))
        cols["spans"].append([{k: sp[k] for k in ("label", "start", "end")} for sp in r.get("spans", [])])
        cols["synthetic"].append(bool(r.get("synthetic", False)))
    return datasets.Dataset.from_dict(cols, features=features)


def load(data_dir: str | Path | None = None, taxonomy: Taxonomy | None = None):
    """The annotated data as a ``datasets.DatasetDict`` with train/dev/test."""
    import datasets

    recs = load_records(data_dir, taxonomy)
    return datasets.DatasetDict({split: to_dataset(rows, taxonomy) for split, rows in recs.items()})


def label_matrix(records: Sequence[dict[str, Any]], keys: Sequence[str]):
    import numpy as np

    index = {k: i for i, k in enumerate(keys)}
    y = np.zeros((len(records), len(keys)), dtype=np.int8)
    for n, r in enumerate(records):
        for lab in r["labels"]:
            if lab in index:
                y[n, index[lab]] = 1
    return y


# ------------------------------------------------------- dedup and splits
def normalize(text: str) -> str:
    """Lower-case, accents folded, punctuation dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def near_duplicate_pairs(texts: Sequence[str], threshold: float = 0.8, num_perm: int = 64, bands: int = 16):
    """Pairs (i, j) of texts whose word-5-gram Jaccard similarity is >= threshold.

    MinHash with LSH banding proposes candidates; each candidate's exact
    Jaccard similarity is then checked, so the result has no false positives.
    """
    import numpy as np

    rng = np.random.default_rng(12345)
    prime = (1 << 61) - 1
    a = rng.integers(1, prime, num_perm, dtype=np.uint64)
    b = rng.integers(0, prime, num_perm, dtype=np.uint64)
    shingles = []
    for t in texts:
        words = normalize(t).split()
        grams = {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
        shingles.append(grams)
    rows = num_perm // bands
    buckets: dict[tuple, list[int]] = {}
    for i, grams in enumerate(shingles):
        if not grams:
            continue
        h = np.array([int(hashlib.md5(g.encode()).hexdigest()[:15], 16) for g in grams], dtype=np.uint64)
        sig = ((h[:, None] * a[None, :] + b[None, :]) % np.uint64(prime)).min(axis=0)
        for band in range(bands):
            buckets.setdefault((band, *sig[band * rows : (band + 1) * rows].tolist()), []).append(i)
    pairs = set()
    for members in buckets.values():
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                i, j = members[x], members[y]
                inter = len(shingles[i] & shingles[j])
                if inter / len(shingles[i] | shingles[j]) >= threshold:
                    pairs.add((min(i, j), max(i, j)))
    return sorted(pairs)


def iterative_stratification(
    label_sets: Sequence[Sequence[str]],
    proportions: dict[str, float],
    seed: int = 0,
    groups: Sequence[int] | None = None,
) -> list[str]:
    """Multi-label stratified assignment (Sechidis et al., 2011).

    Labels are placed rarest first; each example goes to the split that most
    wants that label (then the split that most wants examples overall).
    ``groups`` keeps items with the same group id in one split (near-duplicates).
    Items with no label are distributed by overall demand.
    """
    rng = random.Random(seed)
    n = len(label_sets)
    groups = list(groups) if groups is not None else list(range(n))
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    unit_labels = {g: Counter(lab for i in idx for lab in set(label_sets[i])) for g, idx in members.items()}
    names = list(proportions)
    want_n = {s: proportions[s] * n for s in names}
    totals = Counter(lab for c in unit_labels.values() for lab in c)
    want_l = {s: {lab: proportions[s] * c for lab, c in totals.items()} for s in names}
    assign: dict[int, str] = {}
    remaining = set(members)
    while remaining:
        live = Counter()
        for g in remaining:
            live.update(unit_labels[g])
        if not live:
            break
        label = min(live, key=lambda lab: (live[lab], lab))
        pool = sorted(g for g in remaining if unit_labels[g][label])
        rng.shuffle(pool)
        for g in pool:
            best = max(names, key=lambda s: (want_l[s][label], want_n[s], rng.random()))
            assign[g] = best
            remaining.discard(g)
            want_n[best] -= len(members[g])
            for lab, c in unit_labels[g].items():
                want_l[best][lab] -= c
    rest = sorted(remaining)
    rng.shuffle(rest)
    for g in rest:
        best = max(names, key=lambda s: (want_n[s], rng.random()))
        assign[g] = best
        want_n[best] -= len(members[g])
    return [assign[groups[i]] for i in range(n)]
