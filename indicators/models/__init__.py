from indicators.models.definitions import (
    ChangeMarker,
    DefinitionVersion,
    DepartmentIndicator,
    IndicatorDefinition,
)
from indicators.models.extracts import (
    CurrentRows,
    Extract,
    ExtractDepartment,
    OperationRow,
    RefusedRow,
    Registry,
    RegistryProfile,
)
from indicators.models.feeds import FeedToken
from indicators.models.results import Computation, Result

__all__ = [
    "ChangeMarker",
    "Computation",
    "CurrentRows",
    "DefinitionVersion",
    "DepartmentIndicator",
    "Extract",
    "ExtractDepartment",
    "FeedToken",
    "IndicatorDefinition",
    "OperationRow",
    "RefusedRow",
    "Registry",
    "RegistryProfile",
    "Result",
]
