from __future__ import annotations

from pathlib import Path

import pytest

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
