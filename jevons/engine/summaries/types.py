"""The summary type every run produces: exact or sketched, read through the same attributes."""

from __future__ import annotations

from jevons.engine.summaries.exact import ExactSummary
from jevons.engine.summaries.sketched import SketchSummary

Summary = ExactSummary | SketchSummary
