"""`python -m qnn_core.evaluate`, the command that model cards and scripts cite; the code lives in qnn_core.evaluation.evaluate."""
import sys

from qnn_core.evaluation.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
