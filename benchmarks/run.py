"""``make bench``: run every benchmark script here; each prints ``name value`` lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SUITES = ["imports.py", "etl.py", "dags.py", "flights.py", "endpoint.py"]

if __name__ == "__main__":
    for suite in SUITES:
        subprocess.run([sys.executable, str(HERE / suite)], check=True)
