from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seed_documents():
    from models import load_documents

    docs, skipped = load_documents([SEEDS])
    assert not skipped
    return docs
