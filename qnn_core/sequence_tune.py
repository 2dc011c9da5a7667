"""`python -m qnn_core.sequence_tune`, the command that model cards and scripts cite; the code lives in qnn_core.sequence.tune."""
import sys

from qnn_core.sequence.tune import main

if __name__ == "__main__":
    sys.exit(main())
