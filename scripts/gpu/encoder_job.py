"""Fine-tune the encoder and score segments, on a GPU machine (or anywhere).

Reads ``JOB/examples.json.gz`` written by ``scripts/gpu/encoder_pipeline.py prepare``
and the backbone directory, fits :class:`cxnlp.models.encoder.EncoderScorer`,
then writes to ``OUT``: the fine-tuned weights in fp16 shards of at most
15 MB (the device tool returns files of up to 16 MiB) and fp16 logits for
every segment set in the job (dev, test, unlabeled corpus).  Needs torch and
transformers only, not spaCy: segmentation was done when preparing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cxnlp.models.encoder import EncoderScorer  # noqa: E402


def read_job(job: Path) -> dict:
    with gzip.open(job / "examples.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--job", type=Path, required=True)
    ap.add_argument("--backbone", required=True)
    ap.add_argument("--out", type=Path, required=True)
    # Each flag overrides the setting `prepare` stored in the job (TrainConfig's field of that name).
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--lr", type=float, help="learning rate")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--head-lr", type=float, help="the classification head's learning rate")
    ap.add_argument("--pos-weight-power", type=float, help="positives weighted by (negatives/positives) ** power")
    ap.add_argument("--freeze-layers", type=int, help="lower transformer layers kept frozen")
    ap.add_argument("--limit", type=int, default=0, help="smoke test: use only this many examples")
    args = ap.parse_args()
    import torch
    from safetensors.torch import save_file

    job = read_job(args.job)
    tr = job["train"]
    n = args.limit or len(tr["texts"])
    t0 = time.time()
    if "config" not in job:
        sys.exit(f"{args.job}: made by an older encoder_pipeline.py prepare (no settings); run prepare again")
    flags = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "seed": args.seed,
        "head_learning_rate": args.head_lr,
        "pos_weight_power": args.pos_weight_power,
        "freeze_layers": args.freeze_layers,
    }
    settings = {k: job["config"][k] if v is None else v for k, v in flags.items()}
    scorer = EncoderScorer(job["keys"], backbone=args.backbone, **settings)
    scorer.fit(
        tr["texts"][:n],
        np.array(tr["y"][:n], np.float32),
        np.array(tr["mask"][:n], np.int8),
        np.array(tr["weight"][:n]),
    )
    print(f"fit {n} segments in {time.time() - t0:.0f}s on {scorer.device} with {settings}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "run.json").write_text(json.dumps(settings), encoding="utf-8")  # recorded by `assemble`
    state = {k: v.detach().to(torch.float16).cpu().contiguous() for k, v in scorer.net.state_dict().items()}
    shard, size, idx = {}, 0, 0
    # Files come back at most 16 MiB each: big tensors (the word embeddings)
    # are cut into row blocks named NAME##i, joined again by `assemble`.
    pieces = {}
    for k, v in state.items():
        n = -(-v.numel() * 2 // 12_000_000)
        if n > 1:
            pieces.update({f"{k}##{i}": part.contiguous() for i, part in enumerate(v.chunk(n, dim=0))})
        else:
            pieces[k] = v
    for k, v in pieces.items():
        nbytes = v.numel() * 2
        if shard and size + nbytes > 15_000_000:
            save_file(shard, str(args.out / f"weights-{idx}.safetensors"))
            shard, size, idx = {}, 0, idx + 1
        shard[k] = v
        size += nbytes
    save_file(shard, str(args.out / f"weights-{idx}.safetensors"))
    for name, texts in job["score"].items():
        t0 = time.time()
        texts = texts[: args.limit] if args.limit else texts
        logits = scorer.decision_function(texts).astype(np.float16)
        np.savez_compressed(args.out / f"logits-{name}.npz", logits=logits)
        print(f"scored {name}: {len(texts)} segments in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
