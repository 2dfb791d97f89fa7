from indicators.models.extracts import Extract, OperationRow, RefusedRow, Registry

__all__ = ["Extract", "OperationRow", "RefusedRow", "Registry"]
