from indicators.models.definitions import ChangeMarker, DepartmentIndicator, IndicatorDefinition
from indicators.models.extracts import Extract, OperationRow, RefusedRow, Registry
from indicators.models.results import Computation, Result

__all__ = [
    "ChangeMarker",
    "Computation",
    "DepartmentIndicator",
    "Extract",
    "IndicatorDefinition",
    "OperationRow",
    "RefusedRow",
    "Registry",
    "Result",
]
