"""Page-level reads for a department's pages: each page's data in a fixed number of queries.

One module per page (``dashboard``, ``history``, ``patients``, ``api``) on two shared ones:
``values`` (filters, periods, result cells) and ``results`` (what a department follows, its
results stored or computed on demand, its change markers, the SPC). Everything is importable
from here, as ``from dashboards import selectors``; ``selectors.department_dashboard(…)``.
"""

from dashboards.selectors.api import API_FIELDS, API_VALUES, api_results
from dashboards.selectors.dashboard import (
    Dashboard,
    Tile,
    dashboard_tiles,
    department_dashboard,
)
from dashboards.selectors.history import History, Pooled, indicator_history
from dashboards.selectors.patients import PATIENT_COLUMNS, PatientList, patient_rows
from dashboards.selectors.results import (
    Marker,
    computation_states,
    computed_cells,
    current_computations,
    department_markers,
    followed_indicators,
    indicator_for,
    markers_for,
    running_computation,
    spc_of,
    stored_cells,
)
from dashboards.selectors.values import (
    CELL_FIELDS,
    MONTHS_IN,
    PERIOD_TYPES,
    SITES,
    URGENCIES,
    Cell,
    Filters,
    Period,
    add_months,
    cells_by_key,
    frame_cells,
    month_end,
    parse_month,
    parse_period,
    window,
)

__all__ = [
    "API_FIELDS",
    "API_VALUES",
    "CELL_FIELDS",
    "MONTHS_IN",
    "PATIENT_COLUMNS",
    "PERIOD_TYPES",
    "SITES",
    "URGENCIES",
    "Cell",
    "Dashboard",
    "Filters",
    "History",
    "Marker",
    "PatientList",
    "Period",
    "Pooled",
    "Tile",
    "add_months",
    "api_results",
    "cells_by_key",
    "computation_states",
    "computed_cells",
    "current_computations",
    "dashboard_tiles",
    "department_dashboard",
    "department_markers",
    "followed_indicators",
    "frame_cells",
    "indicator_for",
    "indicator_history",
    "markers_for",
    "month_end",
    "parse_month",
    "parse_period",
    "patient_rows",
    "running_computation",
    "spc_of",
    "stored_cells",
    "window",
]
