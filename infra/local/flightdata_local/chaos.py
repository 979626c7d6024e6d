"""The soak's faults: OpenSky answering 429, 503, slowly or cut short, and SIGKILLs of the
local AWS endpoint or of a Lambda process it runs, spread over the run."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from dataclasses import dataclass

import psutil
import requests

from flightdata_local.services import LocalServices

FAULTS = ("429", "503", "slow", "truncated")


@dataclass
class Faults:
    """What the chaos thread did."""

    opensky: int = 0
    endpoint_kills: int = 0
    lambda_kills: int = 0


def inject(
    stack: LocalServices, faults: Faults, done: threading.Event, kills: int, runs: int, rng: random.Random
) -> None:
    """An OpenSky fault every 10-25 s; ``kills`` SIGKILLs spread over the run, alternating
    between the endpoint itself and a Lambda process it is running."""
    kill_times = sorted(rng.uniform(0.1, 0.8) for _ in range(kills))
    started = time.monotonic()
    expected_s = max(60.0, runs * 2.5)  # the rough length of the flights backfill
    while not done.wait(rng.uniform(10, 25)):
        kind = rng.choice(FAULTS)
        try:
            requests.post(f"{stack.sim_url}/_sim/faults", json={"kind": kind, "count": 1}, timeout=5)
            faults.opensky += 1
        except requests.RequestException:
            pass
        if kill_times and (time.monotonic() - started) / expected_s >= kill_times[0]:
            kill_times.pop(0)
            if (faults.endpoint_kills + faults.lambda_kills) % 2 == 0:
                stack.kill_endpoint()
                faults.endpoint_kills += 1
            elif kill_a_lambda(stack, done):
                faults.lambda_kills += 1


def kill_a_lambda(stack: LocalServices, done: threading.Event) -> bool:
    """SIGKILL the first Lambda process the endpoint starts from now on (within a minute)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not done.is_set():
        for child in psutil.Process(stack.endpoint_process.pid).children(recursive=True):
            try:
                if "localaws.lambda_runner" in " ".join(child.cmdline()):
                    os.kill(child.pid, signal.SIGKILL)
                    return True
            except psutil.Error:
                continue
        time.sleep(0.05)
    return False
