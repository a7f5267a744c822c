"""The app's drawing of each data kind, one file per kind (`view_of(kind)`)."""

from genlab.ui.kinds import images, points, sequences, text  # noqa: F401  (each registers itself)
from genlab.ui.kinds.base import IMAGE_WIDTH, VIEWS, KindView, download, real_of, view_of

__all__ = ["IMAGE_WIDTH", "VIEWS", "KindView", "download", "real_of", "view_of"]
