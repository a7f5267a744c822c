"""A bounded metric history: however long the run, memory stays flat.

Each key keeps (step, wall seconds, value) rows. Past `cap` rows the older half is thinned to every
other row, so the recent past stays at full resolution and the distant past at a coarser one: points
are thinned by age, never dropped at random, and the first row is always kept.
"""

from __future__ import annotations

import threading


class MetricHistory:
    def __init__(self, cap: int = 4000):
        self.cap = cap
        self._rows: dict[str, list[tuple[int, float, float]]] = {}
        self._lock = threading.Lock()
        self.version = 0  # bumped on every append, so readers can skip unchanged redraws

    def append(self, step: int, t: float, values: dict[str, float]) -> None:
        with self._lock:
            for key, v in values.items():
                rows = self._rows.setdefault(key, [])
                rows.append((step, t, float(v)))
                if len(rows) > self.cap:
                    half = len(rows) // 2
                    rows[:half] = rows[:half:2]
            self.version += 1

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._rows)

    def series(self, key: str) -> tuple[list[int], list[float], list[float]]:
        """(steps, wall seconds, values) of one key, a copy."""
        with self._lock:
            rows = list(self._rows.get(key, ()))
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]

    def last(self) -> dict[str, float]:
        with self._lock:
            return {k: rows[-1][2] for k, rows in self._rows.items() if rows}

    def copy(self) -> dict[str, list[tuple[int, float, float]]]:
        with self._lock:
            return {k: list(v) for k, v in self._rows.items()}

    def __len__(self) -> int:
        with self._lock:
            return max((len(v) for v in self._rows.values()), default=0)
