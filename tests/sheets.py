"""Reading the leader's spreadsheets back in tests: XLSX (openpyxl) and CSV."""

from __future__ import annotations

import csv
import io
from typing import Any


def xlsx_rows(data: bytes, sheet: str = "订单明细") -> list[list[Any]]:
    """The cell values of one sheet of an XLSX document, row by row (None for empty cells)."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    return [list(row) for row in wb[sheet].iter_rows(values_only=True)]


def file_text(data: bytes) -> str:
    """Every text of a sent file: each XLSX cell (one row a line, cells tab-separated), or CSV text."""
    if data.startswith(b"PK"):
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data))
        return "\n".join("\t".join("" if c is None else str(c) for c in row)
                         for ws in wb.worksheets for row in ws.iter_rows(values_only=True))
    return data.decode("utf-8-sig")


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
