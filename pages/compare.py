"""Compare page: see genlab/ui/compare.py."""

from genlab.ui.compare import render

render()
