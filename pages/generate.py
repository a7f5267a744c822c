"""Generate page: see genlab/ui/generate.py."""

from genlab.ui.generate import render

render()
