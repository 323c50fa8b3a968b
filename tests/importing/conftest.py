from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"
SEED = SHARED / "seeds" / "000_54a0505d5ed85b50.txt"
WORDPRESS_EXPORT = SHARED / "wordpress" / "themeunittestdata.wordpress.xml"


def _shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared input missing: {path}")
    return path


@pytest.fixture
def seed_path() -> Path:
    return _shared(SEED)


@pytest.fixture
def wordpress_export() -> Path:
    return _shared(WORDPRESS_EXPORT)
