"""Where the repository, its checkpoints and the shared data sets live; every module asks here."""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
CACHE_ROOT = REPO_ROOT / ".cache"
