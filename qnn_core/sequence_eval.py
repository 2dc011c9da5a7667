"""`python -m qnn_core.sequence_eval`, the command that model cards and scripts cite; the code lives in qnn_core.sequence.eval."""
import sys

from qnn_core.sequence.eval import main

if __name__ == "__main__":
    sys.exit(main())
