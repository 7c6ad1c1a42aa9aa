"""The one seeded random source; every random choice in mockpbx derives from it."""

from __future__ import annotations

import random


class RandomSource:
    """Derives independent, reproducible streams from one seed.

    A stream is keyed by what it is for (e.g. a domain and a date), so the calls of a
    day are the same whichever day an instance started on: replicas started minutes
    apart, or either side of midnight, serve identical data.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def stream(self, *key: object) -> random.Random:
        """A `random.Random` seeded from the seed and `key` (stable across runs and processes)."""
        return random.Random("/".join(["mockpbx", str(self.seed), *map(str, key)]))
