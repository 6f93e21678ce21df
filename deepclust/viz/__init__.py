"""Plots of a clustering, and the self-contained HTML report and cluster explorer built from a run folder."""

from .explorer import build_explorer
from .report import build_report

__all__ = ["build_explorer", "build_report"]
