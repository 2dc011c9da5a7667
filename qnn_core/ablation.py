"""`python -m qnn_core.ablation`, the command that model cards and scripts cite; the code lives in qnn_core.evaluation.ablation."""
import sys

from qnn_core.evaluation.ablation import main

if __name__ == "__main__":
    sys.exit(main())
