"""`python -m qnn_core.train`, the command that model cards and scripts cite; the code lives in qnn_core.training.train."""
import sys

from qnn_core.training.train import main

if __name__ == "__main__":
    sys.exit(main())
