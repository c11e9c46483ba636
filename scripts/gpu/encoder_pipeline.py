"""Train the encoder model on a lent GPU and distil it into the fast model's data.

    python scripts/gpu/encoder_pipeline.py prepare [--config configs/encoder.toml]  # here: segments, job, fp16 backbone
    (device) python3 scripts/gpu/encoder_job.py --job .device/job --backbone .device/minilm16 --out $OUT
    python scripts/gpu/encoder_pipeline.py assemble DIR  # here: models/cx-encoder + data/distill/

Without a GPU, ``cxnlp train --family encoder --out models/cx-encoder`` does
the same training on CPU (2 epochs took 50 min on two cores in session 5).

``prepare`` writes ``.device/job/examples.json.gz``: the training segments
(exactly what ``cxnlp train --family encoder`` would fit on) and the segments
to score: every segment of the unlabeled corpora, leaving out every comment
that is in the annotation pool (so no dev or test text reaches the fast
model through distillation).  The backbone travels as an fp16 copy because
the device tool carries at most 64 MiB.

The training settings (a TrainConfig, from ``--config``) travel in the job;
the job trains with them (its flags may override some) and returns what it
used in ``run.json``, which ``assemble`` records in the model's config.
``assemble`` rebuilds a model directory from the returned fp16 weights,
calibrates it on dev like any other model, and writes
``data/distill/encoder_corpus.jsonl.gz``: unlabeled segments with the
encoder's calibrated probabilities, kept as ``scripts/encoder_distill.py``
keeps them (the same file that script makes on a CPU), the input of
``cxnlp train --distill``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from cxnlp.data import load_records, write_jsonl
from cxnlp.models.encoder import PACKAGE, TOKENIZER_FILES, EncoderScorer, resolve_backbone
from cxnlp.models.model import CXModel
from cxnlp.taxonomy import Taxonomy
from cxnlp.text import Segmenter
from cxnlp.training import TrainConfig, finish, train_records, training_examples

sys.path.insert(0, str(Path(__file__).resolve().parent))
from encoder_job import read_job  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from encoder_distill import DISTILL, corpus_segments, distill_rows  # noqa: E402

JOB = Path(".device/job")


def prepare(args) -> None:
    config = TrainConfig.from_file(args.config) if args.config else TrainConfig()
    config = config.updated({"family": "encoder"})
    tax = Taxonomy.default()
    splits = load_records(None, tax)
    seg = Segmenter(max_chars=config.max_segment_chars)
    # what `cxnlp train --family encoder` fits on: gold train + synthetic (less its calibration share)
    texts, y, mask, weight = training_examples(config, tax, train_records(config, splits), seg)
    corpus = corpus_segments(seg)
    job = {
        "keys": list(tax.keys),
        "config": config.to_dict(),
        "train": {"texts": texts, "y": y.astype(int).tolist(), "mask": mask.tolist(), "weight": weight.tolist()},
        "score": {"corpus": corpus},
    }
    JOB.mkdir(parents=True, exist_ok=True)
    with gzip.open(JOB / "examples.json.gz", "wt", encoding="utf-8") as fh:
        json.dump(job, fh)
    src, _ = resolve_backbone(PACKAGE)
    dst = Path(".device/minilm16")
    dst.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import load_file, save_file

    state = load_file(str(Path(src) / "model.safetensors"))
    save_file({k: v.half().contiguous() for k, v in state.items()}, str(dst / "model.safetensors"))
    for f in (*TOKENIZER_FILES, "config.json"):
        shutil.copy(Path(src) / f, dst / f)
    print(f"{len(texts)} training segments, {len(corpus)} corpus segments -> {JOB}")


def backbone_where_unchanged(state: dict, backbone) -> dict:
    """``state`` with the backbone's own float32 tensors wherever the job returned them unchanged.

    The job trains from a float16 copy of the backbone, so its frozen tensors come back as the backbone's
    rounded; put back, they are the backbone's again, and the saved model stores only what fine-tuning
    changed (``EncoderScorer.save``)."""
    import torch
    from transformers import AutoModel

    base = AutoModel.from_pretrained(backbone).float().state_dict()
    out = {}
    for k, v in state.items():
        b = base.get(k.removeprefix("body.")) if k.startswith("body.") else None
        out[k] = b if b is not None and b.shape == v.shape and torch.equal(b.half().float(), v) else v
    return out


def assemble(args) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    returned = Path(args.dir)
    job = read_job(JOB)
    if "config" not in job:
        sys.exit(f"{JOB}: made by an older prepare (no settings); run prepare again")
    config = TrainConfig().updated(job["config"], source=str(JOB))
    run = returned / "run.json"
    if run.exists():  # what the job actually trained with
        config = config.updated(json.loads(run.read_text(encoding="utf-8")), source=str(run))
    tax = Taxonomy.default()
    splits = load_records(None, tax)
    build = Path(".device/encoder-build")
    shutil.rmtree(build, ignore_errors=True)
    (build / "encoder").mkdir(parents=True)
    src, info = resolve_backbone(PACKAGE)
    for f in (*TOKENIZER_FILES, "config.json"):
        shutil.copy(Path(src) / f, build / "encoder" / f)
    state, parts = {}, {}
    for shard in sorted(returned.glob("weights-*.safetensors")):
        for k, v in load_file(str(shard)).items():
            if "##" in k:
                name, i = k.split("##")
                parts.setdefault(name, {})[int(i)] = v.float()
            else:
                state[k] = v.float()
    for name, blocks in parts.items():
        state[name] = torch.cat([blocks[i] for i in sorted(blocks)], dim=0)
    state = backbone_where_unchanged(state, src)
    save_file(state, str(build / "model.safetensors"))
    cfg = {
        "keys": list(tax.keys),
        "scorer": {"max_length": config.max_length, "batch_size": config.batch_size, "backbone": info},
    }
    scorer = EncoderScorer.load(build, cfg)
    scorer.backbone_info = info
    scorer.weights_dtype = config.weights_dtype  # the returned weights are float16 already: nothing to round
    for name in ("epochs", "learning_rate", "head_learning_rate", "pos_weight_power", "freeze_layers"):
        setattr(scorer, name, getattr(config, name))
    model = CXModel(scorer, tax, Segmenter(config.max_segment_chars), pooling=config.pooling)
    model, metrics, _ = finish(model, config, splits)
    model.meta["name"] = "cx-encoder"
    model.meta["trained_on"] = "fine-tuned on a lent NVIDIA GPU by scripts/gpu/encoder_job.py (fp16 weights returned)"
    from cxnlp.modelcard import model_card

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    model.save(out, metrics=metrics, card=model_card(model, metrics))
    print(f"encoder model -> {out}: dev micro F1 {metrics['dev']['micro']['f1']}, macro {metrics['dev']['macro_f1']}")
    # Distillation data: the encoder's calibrated probabilities for the unlabeled corpus segments.
    logits = np.load(returned / "logits-corpus.npz", allow_pickle=False)["logits"].astype(np.float32)
    corpus = job["score"]["corpus"][: len(logits)]  # all of it, unless the job ran with --limit
    rows = distill_rows(model, corpus, logits)
    write_jsonl(args.distill_out, rows)
    print(f"{len(rows)} of {len(corpus)} distillation segments -> {args.distill_out}")
    del torch


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    pr = sub.add_parser("prepare")
    pr.add_argument("--config", help="a TrainConfig file (TOML/JSON), e.g. configs/encoder.toml")
    a = sub.add_parser("assemble")
    a.add_argument("dir")
    a.add_argument("--out", default="models/cx-encoder")
    a.add_argument("--distill-out", default=str(DISTILL))
    args = ap.parse_args()
    sys.exit(prepare(args) if args.cmd == "prepare" else assemble(args))
