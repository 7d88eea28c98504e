"""Registers and statements: each report kind as data (its columns, filters and rows).

``REGISTERS`` maps a report kind (``"trade_register"``) to its :class:`Register`; the kinds'
modules add themselves on import. ``report_params_parse`` checks a request's filters, and
``compliance.reports.writers`` streams the rows as CSV, XLSX or PDF.
"""

# The kinds add themselves to REGISTERS on import.
from compliance.reports.registers import (  # noqa: F401
    alerts,
    audit,
    clients,
    risk,
    statements,
    trading,
)  # fmt: skip
from compliance.reports.registers.base import (
    REGISTERS,
    Column,
    Register,
    ReportParams,
    ReportParamsError,
    register,
    report_params_parse,
)

__all__ = [
    "REGISTERS",
    "Column",
    "Register",
    "ReportParams",
    "ReportParamsError",
    "register",
    "report_params_parse",
]
