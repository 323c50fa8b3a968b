from pathlib import Path

import pytest

from tests.support.importing import SEED


@pytest.fixture
def seed_path() -> Path:
    if not SEED.exists():
        pytest.skip(f"shared input missing: {SEED}")
    return SEED
