from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cxnlp.data import load_records, write_jsonl

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def labels_md() -> Path:
    path = SHARED / "LABELS.md"
    if not path.exists():
        pytest.skip(f"the guideline {path} is not beside this checkout")
    return path


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Static-vector caches go to a temporary directory, never the user's ~/.cache."""
    import os

    old = os.environ.get("CXNLP_CACHE")
    os.environ["CXNLP_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("CXNLP_CACHE", None)
    else:
        os.environ["CXNLP_CACHE"] = old


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> Path:
    """A small split directory cut from the real annotated data (keeps the tests fast)."""
    recs = load_records()
    d = tmp_path_factory.mktemp("data")
    # Records are sorted by id (all CFPB first): stride through them to keep both sources.
    write_jsonl(d / "train.jsonl", recs["train"][::4])
    write_jsonl(d / "dev.jsonl", recs["dev"][::3])
    write_jsonl(d / "test.jsonl", recs["test"][::6])
    return d


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT with MiniLM's tokenizer: seconds, not minutes."""
    pytest.importorskip("torch")
    from transformers import AutoModel, BertConfig

    from cxnlp.models.encoder import PACKAGE, TOKENIZER_FILES, resolve_backbone

    src, _ = resolve_backbone(PACKAGE)
    tiny = tmp_path_factory.mktemp("tiny-bert")
    for f in TOKENIZER_FILES:
        shutil.copy(Path(src) / f, tiny / f)
    BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    ).save_pretrained(tiny)
    AutoModel.from_config(BertConfig.from_pretrained(tiny)).save_pretrained(tiny)
    return tiny
