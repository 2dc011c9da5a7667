"""`python -m qnn_core.report`, the command that model cards and scripts cite; the code lives in qnn_core.evaluation.report."""
import sys

from qnn_core.evaluation.report import main

if __name__ == "__main__":
    sys.exit(main())
