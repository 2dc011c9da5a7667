import sys

from qnn_core.jobs.cli import main

sys.exit(main())
