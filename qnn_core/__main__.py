"""`python -m qnn_core COMMAND ...`: the same as the `qnn` console script (and what torchrun's `-m` runs)."""

import sys

from qnn_core.cli import main

sys.exit(main())
