"""When a run with stop=auto ends: the held-out quality measure of its data's kind, patience, the
step schedule's drops on a plateau, and the reasons shown to the user.

Each evaluation's value of the measure is compared with the last that counted as a gain; a gain
counts when it is at least MIN_GAIN (relative) better and, for distances with a real-vs-real
floor, better by FLOOR_SHARE of that floor (the estimator's own noise). After `patience`
evaluations without one, the run stops, or, with lr_schedule=step, the learning rate first drops
as that schedule's would (x0.2, then x0.05; the cap-based drops at 60% and 80% of the cap still
apply, whichever comes first) and the count restarts. The weights of the best evaluation are the
ones the run keeps at its end.

The state is a function of the evaluation rows alone, so a resumed run replays its metrics file
through `update` and continues where it stood.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from genlab.metrics.info import metric_info

# the measure per data kind, first present wins (a method without the first has the second):
# held-out distances to validation data, or the validation NLL of a likelihood model
STOP_MEASURES: dict[str, tuple[str, ...]] = {
    "points": ("eval/mmd", "eval/swd"),
    "images": ("eval/fd", "eval/mmd"),
    "sequences": ("eval/disc", "eval/mmd"),
    "text": ("eval/nll", "eval/length_tv"),
}
MIN_GAIN = 0.02  # a relative gain smaller than this is noise between evaluations
# ... except for a measure computed exactly on the whole validation split, whose changes are the
# model's: the validation NLL of a text list (2% of 2 nats/char is 0.04, more than a language
# model gains per evaluation long before it has converged)
MIN_GAIN_OF = {"eval/nll": 0.002}
# Distances whose `floor/` twin is the same estimator between two real sets: near that floor the
# estimate is noise (unbiased MMD² wanders around 0), so a gain must also exceed this share of it.
FLOOR_SHARE = 0.2
FLOOR_NOISE = frozenset({"eval/mmd", "eval/swd", "eval/fd"})
PLATEAU_FACTORS = (1.0, 0.2, 0.05)  # lr_schedule=step: the factor after 0, 1, 2 plateaus
BEST_STEP = "stop/best_step"  # in the row that repeats the kept evaluation at the run's end


@dataclass(frozen=True)
class Best:
    step: int
    values: dict[str, float]
    tensors: dict[str, Any] | None  # the evaluated weights (None when replayed from disk)


class Stopper:
    """Fed every evaluation (`update`), read by the worker (`lr_factor`, `reason`)."""

    def __init__(self, kind: str, patience: int, schedule: str = "constant"):
        self.measures = STOP_MEASURES.get(kind, ())
        self.patience = max(1, int(patience))
        self.factors = PLATEAU_FACTORS if schedule == "step" else (1.0,)
        self.key: str | None = None
        self._lower = True
        self._ref: float | None = None  # the last value that counted as a gain
        self._since = 0  # evaluations since then
        self._stage = 0  # plateaus passed (index into factors)
        self._best: Best | None = None  # the best value seen, with its weights
        self._reason: str | None = None
        self.drops: list[dict[str, Any]] = []  # {"step", "factor"} of each plateau drop
        self._lock = threading.Lock()

    def update(self, step: int, values: dict[str, float], tensors: Any = None) -> None:
        with self._lock:
            if self.key is None:
                self.key = next((k for k in self.measures if k in values), None)
                if self.key is not None:
                    self._lower = metric_info(self.key)[1] == "lower"
            v = values.get(self.key) if self.key is not None else None
            if v is None or not math.isfinite(v) or self._reason is not None:
                return
            sign = 1.0 if self._lower else -1.0
            if self._best is None or sign * (v - self._best.values[self.key]) < 0:
                self._best = Best(step, dict(values), tensors)
            gain = MIN_GAIN_OF.get(self.key, MIN_GAIN)
            need = gain * abs(self._ref) if self._ref is not None else 0.0
            floor = values.get(self.key.replace("eval/", "floor/", 1))
            if self.key in FLOOR_NOISE and floor is not None and math.isfinite(floor):
                need = max(need, FLOOR_SHARE * abs(floor))
            if self._ref is None or sign * (self._ref - v) > need:
                self._ref, self._since = v, 0
                return
            self._since += 1
            if self._since < self.patience:
                return
            if self._stage + 1 < len(self.factors):
                self._stage += 1
                self._since = 0
                self.drops.append({"step": step, "factor": self.factors[self._stage]})
            else:
                self._reason = f"no gain on {self.key} for {self.patience} evaluations"

    def replay(self, rows: list[dict[str, Any]]) -> None:
        """Rebuild the state from a run's metric rows (a resume): the evaluations in order."""
        for row in rows:
            if any(k in row for k in self.measures) and BEST_STEP not in row:
                self.update(int(row["step"]), {k: v for k, v in row.items() if k != "t"})
        with self._lock:
            if self._reason is not None:  # it had stopped for no gain: another patience window
                self._reason, self._since = None, 0

    def lr_factor(self) -> float:
        with self._lock:
            return self.factors[self._stage]

    def reason(self) -> str | None:
        """Why the run must stop now (no gain for `patience` evaluations), else None."""
        with self._lock:
            return self._reason

    def best(self) -> Best | None:
        with self._lock:
            return self._best

    def state(self) -> dict[str, Any]:
        """For run.json and the live view."""
        with self._lock:
            best = self._best
            return {
                "measure": self.key,
                "best": best.values.get(self.key) if best is not None and self.key else None,
                "best_step": best.step if best is not None else None,
                "since": self._since,
                "patience": self.patience,
                "drops": list(self.drops),
            }
