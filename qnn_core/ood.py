"""`python -m qnn_core.ood`, the command that model cards and scripts cite; the code lives in qnn_core.evaluation.ood_calibration."""
import sys

from qnn_core.evaluation.ood_calibration import main

if __name__ == "__main__":
    sys.exit(main())
