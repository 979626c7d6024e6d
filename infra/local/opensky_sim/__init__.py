"""A local stand-in for the OpenSky API, serving synthetic traffic (never OpenSky's data)."""

from opensky_sim.rest_api import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Simulator, running
from opensky_sim.traffic import INVALID_KINDS, Fleet, TrafficShape

__all__ = ["DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "INVALID_KINDS", "Fleet", "Simulator", "TrafficShape", "running"]
