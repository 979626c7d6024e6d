"""flightdata's harness on a laptop: the demo, ``make up``, the soak, the deploy onto the
local AWS endpoint (``localaws``), replaying traffic, measuring the workload. It uses the
emulator; the emulator knows nothing of it."""
