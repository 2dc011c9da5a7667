"""`python -m qnn_core.photo_eval`, the command that model cards and scripts cite; the code lives in qnn_core.evaluation.photo_eval."""
import sys

from qnn_core.evaluation.photo_eval import main

if __name__ == "__main__":
    sys.exit(main())
