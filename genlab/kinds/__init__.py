"""Data kinds behind one small interface (`Kind`), one file per kind: how a snapshot of samples
is taken and encoded, stored and read back, drawn and exported. `kind_of(spec.kind)` is the one
way in; nothing outside this package branches on a kind's name for these."""

from genlab.kinds import images, points, sequences, text  # noqa: F401  (each registers itself)
from genlab.kinds.base import KINDS, Kind, kind_of, register
from genlab.kinds.points import points_csv
from genlab.kinds.sequences import sequences_csv

__all__ = ["KINDS", "Kind", "kind_of", "points_csv", "register", "sequences_csv"]
