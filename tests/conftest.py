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
