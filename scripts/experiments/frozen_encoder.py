"""Does a frozen MiniLM sentence embedding per segment, added to the fast family's features, help?

    python scripts/experiments/frozen_encoder.py --weights 0,1,2 [--splits dev,ood_dev]

Each run trains the default recipe (gold + synthetic, max+doc pooling, seed 0) with the 384-dimensional
mean-pooled all-MiniLM-L6-v2 embedding of every segment appended to the dense block, scaled by the weight
(0: the default model, re-trained here as the reference).  A document (a tuple of segments) gets the
normalised mean of its segments' embeddings.  Calibration and thresholds are fitted on dev as always; figures
on ``dev`` are therefore optimistic for every row alike, ``ood_dev`` is untouched by tuning.  Embeddings are
cached in ``~/.cache/cxnlp/frozen_embeddings.npz``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cxnlp.data import load_records
from cxnlp.evaluation import evaluate_records
from cxnlp.models.base import Item
from cxnlp.models.encoder import SentenceEmbedder
from cxnlp.models.fast import FastScorer, item_index
from cxnlp.models.model import CXModel
from cxnlp.models.static import cache_dir
from cxnlp.taxonomy import Taxonomy
from cxnlp.text import Segmenter
from cxnlp.training import TrainConfig, build_scorer, finish, train_records, training_examples


class EmbeddingCache:
    def __init__(self) -> None:
        self.path = cache_dir() / "frozen_embeddings.npz"
        self.vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            z = np.load(self.path, allow_pickle=False)
            self.vectors = dict(zip(z["texts"].tolist(), z["vectors"], strict=True))
        self.embedder: SentenceEmbedder | None = None

    def get(self, texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self.vectors})
        if missing:
            self.embedder = self.embedder or SentenceEmbedder(batch_size=128)
            t0 = time.time()
            vecs = self.embedder.embed(missing)
            print(f"embedded {len(missing)} segments in {time.time() - t0:.0f}s", flush=True)
            self.vectors.update(zip(missing, vecs, strict=True))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, texts=np.array(list(self.vectors)), vectors=np.stack(list(self.vectors.values())))
        return np.stack([self.vectors[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)


class HybridScorer(FastScorer):
    """The fast family plus a weighted frozen sentence embedding per segment."""

    def __init__(self, base: FastScorer, cache: EmbeddingCache, weight: float) -> None:
        self.__dict__.update(base.__dict__)
        self.cache = cache
        self.embed_weight = weight

    def _parts(self, items: list[Item]):
        X, dense = super()._parts(items)
        if not self.embed_weight:
            return X, dense
        parts, S = item_index(items)
        emb = self.cache.get(parts)
        if S is not None:
            emb = np.asarray(S @ emb)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        emb = (emb / norms * self.embed_weight).astype(np.float32)
        return X, emb if dense is None else np.hstack([dense, emb])

    def decision_function(self, texts: list[Item]) -> np.ndarray:
        # FastScorer's tagging path rearranges the product for its own two blocks and would
        # ignore the embedding block: score with the features themselves.
        return np.asarray(self.features(texts) @ self.coef) + self.intercept


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default="0,1,2")
    ap.add_argument("--splits", default="dev,ood_dev")
    ap.add_argument("--C", type=float, default=4.0)
    args = ap.parse_args()
    config = TrainConfig(C=args.C)
    tax = Taxonomy.default()
    splits = load_records(None, tax)
    seg = Segmenter(max_chars=config.max_segment_chars)
    texts, y, mask, weight = training_examples(config, tax, train_records(config, splits), seg)
    cache = EmbeddingCache()
    all_segments = [p for t in texts for p in ((t,) if isinstance(t, str) else t)]
    for name in args.splits.split(","):
        all_segments += [s.text for r in splits[name] for s in seg.split(r["text"])]
    cache.get(list(dict.fromkeys(all_segments)))
    for w in (float(x) for x in args.weights.split(",")):
        t0 = time.time()
        scorer = HybridScorer(build_scorer(config, tax.keys), cache, w)
        scorer.fit(texts, y, mask, weight)
        model, _, _ = finish(CXModel(scorer, tax, seg, pooling=config.pooling), config, splits)
        row = []
        for name in args.splits.split(","):
            m = evaluate_records(model, splits[name])
            row.append(f"{name} {m['micro']['f1']:.3f} / {m['macro_f1']:.3f}")
        print(f"embed_weight={w:g} C={args.C:g}: " + "  ".join(row) + f"  ({time.time() - t0:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
