"""`python -m qnn_core.read`, the command that model cards and scripts cite; the code lives in qnn_core.sequence.read."""
import sys

from qnn_core.sequence.read import main

if __name__ == "__main__":
    sys.exit(main())
