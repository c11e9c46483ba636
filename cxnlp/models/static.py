"""Static token vectors distilled from a sentence encoder, for the ``fast`` family.

N-grams only know the words they were trained on: a model that learned "the
receptionist was rude" knows nothing of "the pharmacist was rude".  Static
vectors carry some of the encoder's sense of meaning into a model that needs
no torch at inference (the approach of model2vec): each vocabulary token is
passed alone through the encoder (``[CLS] token [SEP]``) and its output states
are mean-pooled; the vectors are centred and reduced by PCA to ``dim``
dimensions, then weighted by SIF, ``a / (a + p(token))`` with token
frequencies from the training text, so that frequent tokens count less.  A
text's vector is the mean of its tokens' vectors, L2-normalised.

Building needs torch and the encoder (once; the encoder's pooled token
states are cached per backbone sha256 under ``~/.cache/cxnlp``); using the
vectors needs only the ``tokenizers`` library and numpy.  Saved as
``static_tokenizer.json`` and ``static_vectors.safetensors``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from safetensors.numpy import load_file, save_file

from cxnlp.models.wordtable import WordTable

SIF_A = 1e-3
FILES = ("static_tokenizer.json", "static_vectors.safetensors")
# Characters Python's str.split() takes as whitespace but BERT's normaliser deletes (controls) or
# keeps (line/paragraph separators): a text containing one is tokenized whole.
_ODD_SPACE = re.compile("[\x0b\x0c\x1c-\x1f\x85\u2028\u2029]")


def cache_dir() -> Path:
    return Path(os.environ.get("CXNLP_CACHE", Path.home() / ".cache" / "cxnlp"))


class StaticVectors:
    def __init__(self, tokenizer_json: str, vectors: np.ndarray) -> None:
        from tokenizers import Tokenizer

        self.tokenizer_json = tokenizer_json
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.vectors = vectors.astype(np.float32)
        self.dim = self.vectors.shape[1]
        self._words = WordTable(self._word_ids, self.vectors.shape[0])

    # ------------------------------------------------------------ building
    @classmethod
    def build(cls, backbone: str, texts: Sequence[str], dim: int, log: Callable[[str], None] = print) -> StaticVectors:
        from cxnlp.models.encoder import resolve_backbone

        path, info = resolve_backbone(backbone)
        tokenizer_json = (Path(path) / "tokenizer.json").read_text(encoding="utf-8")
        raw = _token_states(Path(path), info.get("sha256", ""), log)
        centred = raw - raw.mean(axis=0)
        # PCA by SVD; the sign of each component is fixed so that the result is deterministic.
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        vt = vt[:dim] * np.sign(vt[:dim, :1] + 1e-12)
        self = cls(tokenizer_json, (centred @ vt.T).astype(np.float32))
        counts = np.zeros(raw.shape[0])
        for enc in self.tokenizer.encode_batch(list(texts), add_special_tokens=False):
            np.add.at(counts, enc.ids, 1)
        p = (counts + 1) / (counts.sum() + len(counts))
        self.vectors *= (SIF_A / (SIF_A + p))[:, None].astype(np.float32)
        # Stored as float16: use the stored values from the start so a loaded model predicts identically.
        self.vectors = self.vectors.astype(np.float16).astype(np.float32)
        return self

    # ------------------------------------------------------------- using
    def token_counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """(texts x vocabulary) counts of the tokenizer's ids, assembled from the texts' words.

        BERT's tokenizer never makes a token across whitespace and normalises each character on its
        own, so a text's ids are its whitespace-separated words' ids (tested on real text): each
        distinct word is tokenized once (:class:`WordTable`).  A text with a separator on which
        Python and BERT disagree about whitespace is tokenized whole.
        """
        return self._words.counts(self._words_of(texts))

    @staticmethod
    def _words_of(texts: Sequence[str]) -> list[list[str]]:
        return [[t] if _ODD_SPACE.search(t) else t.split() for t in texts]

    def _word_ids(self, word: str) -> list[int]:
        return self.tokenizer.encode(word, add_special_tokens=False).ids

    def sums(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per text: the sum of its token vectors and its number of tokens."""
        counts = self.token_counts(texts)
        return np.asarray(counts @ self.vectors, dtype=np.float32), np.asarray(counts.sum(axis=1)).ravel()

    def project(self, texts: Sequence[str], right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per text: the sum of its token vectors, and its token counts times ``right`` (vocabulary x k).

        With ``right = vectors @ M`` the second is the first times ``M``, computed per distinct word
        first, then per text; every product is scipy's row-by-row loop, so a text's result never
        depends on the batch.
        """
        S, W = self._words.factors(self._words_of(texts))
        return np.asarray(S @ (W @ self.vectors), np.float32), np.asarray(S @ (W @ right), np.float32)

    @staticmethod
    def normalise(sums: np.ndarray) -> np.ndarray:
        # the mean's direction is the sum's: L2-normalising the sum is enough
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return sums / norms

    # ------------------------------------------------------------------ I/O
    def save(self, path: Path) -> list[str]:
        (path / FILES[0]).write_text(self.tokenizer_json, encoding="utf-8")
        save_file({"vectors": self.vectors.astype(np.float16)}, str(path / FILES[1]))
        return list(FILES)

    @classmethod
    def load(cls, path: Path) -> StaticVectors:
        vectors = load_file(str(path / FILES[1]))["vectors"]
        return cls((path / FILES[0]).read_text(encoding="utf-8"), vectors)


def _token_states(path: Path, sha256: str, log: Callable[[str], None]) -> np.ndarray:
    """Mean-pooled encoder output for every vocabulary token on its own, cached by weights sha256."""
    cached = cache_dir() / f"token-states-{sha256[:16]}.safetensors" if sha256 else None
    if cached is not None and cached.exists():
        return load_file(str(cached))["states"]
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    ids = torch.arange(tok.vocab_size)
    out = np.zeros((tok.vocab_size, model.config.hidden_size), dtype=np.float32)
    log(f"static vectors: encoding {tok.vocab_size} tokens with {path.name} (once per backbone)")
    with torch.inference_mode():
        for i in range(0, len(ids), 1024):
            b = ids[i : i + 1024]
            inp = torch.stack([torch.full_like(b, tok.cls_token_id), b, torch.full_like(b, tok.sep_token_id)], 1)
            out[i : i + len(b)] = model(input_ids=inp, attention_mask=torch.ones_like(inp)).last_hidden_state.mean(1)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        save_file({"states": out}, str(tmp))
        tmp.replace(cached)
    return out
