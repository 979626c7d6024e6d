"""The ETL's C reader (``flightdata/etl/flat_arrays.c``), compiled for this machine and for Lambda.

zig's C compiler (the ``ziglang`` wheel) builds for any target from any host, against the
glibc version named: one compiler makes the library for this machine (``make setup``: the
tests, the demo, the local Lambda functions) and for Lambda's arm64, for the same
manylinux platform as the wheels in the zip (``package.PLATFORM``). The library has no
Python header in it, so one build serves every Python.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

from flightdata.etl.flat_arrays import SOURCE, library_path

# The wheels' platform and the reader's glibc: Lambda's python3.12 runtime is Amazon Linux 2023
# (glibc 2.34), so manylinux_2_28 wheels run there, and numpy 2.5 ships no older ones for arm64.
MANYLINUX = "manylinux_2_28"
# No -march: the library runs on any CPU of its architecture, as the wheels beside it do.
FLAGS = ("-O2", "-shared", "-fPIC", "-g0", "-Wall", "-Wextra", "-Werror")
# For the tests: any undefined behaviour (a null or misaligned pointer, an index out of its
# array, an overflow) stops the process at once, with no runtime library to load.
SANITIZED = (*FLAGS, "-fsanitize=undefined", "-fsanitize-trap=undefined")


def build(target_platform: str, directory: Path = SOURCE.parent, flags: tuple[str, ...] = FLAGS) -> Path:
    """Compile the reader for ``target_platform`` (uv's spelling, ``aarch64-manylinux_2_28``)
    into ``directory``; return the library's path."""
    machine, _, glibc = target_platform.partition("-manylinux_")  # glibc: "2_28"
    if not glibc:
        raise ValueError(f"not a manylinux platform: {target_platform!r}")
    output = directory / library_path(machine).name
    partial = output.with_suffix(".partial")  # the finished library appears at once, or not at all
    zig = [sys.executable, "-m", "ziglang", "cc", "-target", f"{machine}-linux-gnu.{glibc.replace('_', '.')}"]
    subprocess.run([*zig, *flags, "-o", str(partial), str(SOURCE)], check=True)  # noqa: S603 - our own compiler
    partial.replace(output)
    return output


def host_platform() -> str:
    """This machine's platform in uv's spelling."""
    return f"{platform.machine()}-{MANYLINUX}"


if __name__ == "__main__":
    print(build(host_platform()))
