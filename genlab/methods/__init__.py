"""Methods, one file each; importing this package registers them all.

Adding a method: one new file with a registered `Method` subclass, plus one import line here.
"""

from genlab.methods import cgan, ddpm, flow, gan, lstm, rgan, transformer, vae  # noqa: F401  (registers the methods)
from genlab.methods.base import METHODS, Method, method_class, register

__all__ = ["METHODS", "Method", "method_class", "register"]
