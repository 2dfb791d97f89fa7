from indicators.models.definitions import ChangeMarker, DepartmentIndicator, IndicatorDefinition
from indicators.models.extracts import (
    CurrentRows,
    Extract,
    ExtractDepartment,
    OperationRow,
    RefusedRow,
    Registry,
)
from indicators.models.results import Computation, Result

__all__ = [
    "ChangeMarker",
    "Computation",
    "CurrentRows",
    "DepartmentIndicator",
    "Extract",
    "ExtractDepartment",
    "IndicatorDefinition",
    "OperationRow",
    "RefusedRow",
    "Registry",
    "Result",
]
