"""Runs page: see genlab/ui/runs_page.py."""

from genlab.ui.runs_page import render

render()
