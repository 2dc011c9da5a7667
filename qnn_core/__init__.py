"""Hybrid quantum-classical image classifier: the core library behind the app and the `qnn` command."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qnn-core")  # written once, in pyproject.toml
except PackageNotFoundError:  # a checkout that was never installed (setup.sh installs it)
    __version__ = "0+unknown"
