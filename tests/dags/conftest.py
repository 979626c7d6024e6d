"""The DagBag, parsed once per session for every DAG test."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).parents[2] / "dags"


class NetworkUsedAtParse(AssertionError):
    pass


@pytest.fixture(scope="session")
def dagbag():
    """Parse dags/ with the network cut off: any connection attempt at import fails the parse."""
    from flightdata.orchestration.compat import dag_bag

    original = socket.socket.connect

    def refuse(self, address):
        raise NetworkUsedAtParse(f"a DAG file opened a connection to {address} while being parsed")

    socket.socket.connect = refuse
    try:
        return dag_bag(DAGS_FOLDER)
    finally:
        socket.socket.connect = original
