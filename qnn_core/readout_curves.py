"""`python -m qnn_core.readout_curves`; the code lives in qnn_core.evaluation.readout_curves."""
import sys

from qnn_core.evaluation.readout_curves import main

if __name__ == "__main__":
    sys.exit(main())
