"""Where the repository, its checkpoints and the shared data sets live; every module asks here."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
EVAL_DIR = CHECKPOINT_DIR / "eval"  # the committed evaluations (JSON, PNG) that the cards, docs and pages read
# $QNN_DATA_ROOT moves every data set at once: a Ray job's code arrives in a scratch folder on its node, so
# the data cannot be found beside it; the job sets this to the folder the cluster's nodes mount.
SHARED_DATA = Path(os.environ.get("QNN_DATA_ROOT") or REPO_ROOT.parent / "shared" / "data").expanduser()
CACHE_ROOT = REPO_ROOT / ".cache"
