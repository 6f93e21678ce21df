"""Plots of a clustering and the self-contained HTML report built from a run folder."""

from .report import build_report

__all__ = ["build_report"]
