"""`python -m qnn_core.predict`, the command that model cards and scripts cite; the code lives in qnn_core.inference.predict."""
import sys

from qnn_core.inference.predict import main

if __name__ == "__main__":
    sys.exit(main())
