"""`tuan product import FILE.xlsx|csv`: a supplier's product list into the library.

One row per variant. Columns, by header (Chinese or English, any order, case and spaces ignored):

=========  ===============================  ========  ===========================================
column     header names                      needed    value
=========  ===============================  ========  ===========================================
code       编码 商品编码 货号 code            yes       the product's code (rows of one code: its variants)
name       名称 商品名称 品名 name             yes       the product's name (the same on each of its rows)
spec       规格 spec                          no        the variant (5斤装); needed when a code has 2+ rows
unit       单位 unit                          no        盒, 箱, 斤 …
price      售价 团购价 价格 price              yes       yuan, at most 2 decimals, > 0
cost       成本价 成本 进价 采购价 cost         no        yuan, at most 2 decimals, > 0
supplier   供应商 supplier                    no        a supplier's id (`tuan supplier add`); else --supplier
aliases    别名 aliases                       no        words residents use, separated by , ， 、 or /
commission 提成 佣金 commission               no        the leader's commission per unit sold, yuan, 0 to price
=========  ===============================  ========  ===========================================

A file without the commission column leaves the variants' stored amounts as they are; with it, an
empty cell clears the amount (the leader's rate applies to that variant).

A unit in brackets after a header is allowed (``售价(元)``). Other columns are ignored (and named
in the report). Policy: all or nothing. Every row is checked
first; when any row is bad nothing is imported and every bad row is reported (row number as the
spreadsheet shows it, column, why). Importing the same file again changes nothing; a changed file
updates the products and variants it names (others are left as they are).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from bot.money import REASONS, MoneyError, parse_price
from bot.usecases.platform_data import PlatformDataError, ProductRow, product_code_problem
from bot.usecases.products import (
    LibraryChanges,
    LibraryRows,
    VariantRow,
    commission_problem,
    norm,
    variant_text,
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("编码", "商品编码", "货号", "code"),
    "name": ("名称", "商品名称", "品名", "name"),
    "spec": ("规格", "spec"),
    "unit": ("单位", "unit"),
    "price": ("售价", "团购价", "价格", "price"),
    "cost": ("成本价", "成本", "进价", "采购价", "cost"),
    "supplier": ("供应商", "supplier"),
    "commission": ("提成", "佣金", "commission"),
    "aliases": ("别名", "aliases"),
}
REQUIRED = ("code", "name", "price")
_HEADERS = {norm(h): col for col, names in COLUMNS.items() for h in names}


@dataclass(frozen=True, slots=True)
class RowError:
    """A bad row: ``row`` as the spreadsheet numbers it (the header is row 1 when it is the first)."""

    row: int
    column: str
    why: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.why}"


class ProductImportError(PlatformDataError):
    """The file cannot be imported: ``errors`` lists every bad row (nothing was imported)."""

    def __init__(self, message: str, errors: list[RowError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass(slots=True)
class Table:
    """A sheet as read: header cells, then (row number, cells) of each non-empty row."""

    header: list[str]
    header_row: int
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if value != int(value) else str(int(value))
    return unicodedata.normalize("NFKC", str(value)).strip()


def read_table(path: Path) -> Table:
    """The first sheet of an .xlsx, or a .csv (UTF-8, with or without BOM, else GB18030), as text
    cells; the first non-empty row is the header. Raises :class:`ProductImportError` for another suffix,
    an unreadable file or no header."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(path, read_only=True, data_only=True)
            raw = [[_cell(c) for c in r] for r in wb.worksheets[0].iter_rows(values_only=True)]
            wb.close()
        elif suffix == ".csv":
            data = path.read_bytes()
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("gb18030")
            raw = [[_cell(c) for c in r] for r in csv.reader(io.StringIO(text))]
        else:
            raise ProductImportError(f"{path.name}: expected a .xlsx or .csv file")
    except ProductImportError:
        raise
    except Exception as e:  # a damaged workbook, a file that is no CSV text
        raise ProductImportError(f"{path.name}: cannot be read ({type(e).__name__}: {e})") from None
    numbered = [(n, r) for n, r in enumerate(raw, 1) if any(r)]
    if not numbered:
        raise ProductImportError(f"{path.name}: no rows")
    (header_row, header), rows = numbered[0], numbered[1:]
    return Table(header, header_row, rows)


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One good row: a variant of product ``code``."""

    row: int
    code: str
    name: str
    spec: str
    unit: str
    price: Decimal
    cost: Decimal | None
    supplier: str | None
    aliases: tuple[str, ...]
    commission: Decimal | None = None
    has_commission: bool = False  # the file has the column (else the stored amount is kept)


def _aliases(raw: str) -> tuple[str, ...]:
    for sep in "，、/;；":
        raw = raw.replace(sep, ",")
    return tuple(dict.fromkeys(a.strip() for a in raw.split(",") if a.strip()))


def _money(raw: str) -> Decimal:
    return parse_price(raw.replace("¥", "").replace("￥", "").replace("元", "").strip())


def _commission(raw: str) -> Decimal:
    """A commission cell: yuan, at most 2 decimals, 0 allowed (a variant that pays nothing)."""
    text = raw.replace("¥", "").replace("￥", "").replace("元", "").strip()
    if text in ("0", "0.0", "0.00"):
        return Decimal("0.00")
    return parse_price(text)


def check_rows(table: Table, current: LibraryRows, *, supplier: str | None = None,
               config_owned: dict[str, str] | None = None) -> tuple[list[ImportRow], list[str]]:
    """The good rows of ``table`` and the ignored columns' names. Raises :class:`ProductImportError` with
    every bad row when any row is bad (or a required column is missing).

    ``supplier``: the supplier of rows that name none; ``config_owned``: product codes tuan.toml
    owns (→ its deal id), which the import refuses (the next start-up would overwrite them).
    """
    owned = config_owned or {}
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for i, h in enumerate(table.header):
        col = _HEADERS.get(norm(h)) or _HEADERS.get(norm(re.sub(r"[(（][^)）]*[)）]", "", h)))  # 售价(元)
        if col is None or col in columns:
            if h:
                ignored.append(h)
            continue
        columns[col] = i
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        wanted = "; ".join(f"{c} ({'/'.join(COLUMNS[c])})" for c in missing)
        raise ProductImportError(f"row {table.header_row}: the header lacks {wanted}")
    if supplier is not None and supplier not in current.suppliers:
        raise ProductImportError(f"--supplier: no supplier {supplier!r} (tuan supplier add {supplier} --name ...)")
    good: list[ImportRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    names: dict[str, tuple[str, int]] = {}
    for n, cells in table.rows:
        def get(col: str, cells: list[str] = cells) -> str:
            i = columns.get(col)
            return cells[i] if i is not None and i < len(cells) else ""

        bad = len(errors)
        code, name, spec = get("code"), get("name"), get("spec")
        if not code:
            errors.append(RowError(n, "code", "empty"))
        elif (problem := product_code_problem(code)) is not None:
            errors.append(RowError(n, "code", problem))
        elif code in owned:
            errors.append(RowError(n, "code", f"product {code} comes from tuan.toml (deal {owned[code]})"))
        if not name:
            errors.append(RowError(n, "name", "empty"))
        elif code and code in names and names[code][0] != name:
            errors.append(RowError(n, "name", f"{name!r}, but row {names[code][1]} names product {code} "
                                               f"{names[code][0]!r}"))
        prices: dict[str, Decimal | None] = {}
        for col in ("price", "cost"):
            raw = get(col)
            if not raw:
                if col == "price":
                    errors.append(RowError(n, col, "empty"))
                prices[col] = None
                continue
            try:
                prices[col] = _money(raw)
            except MoneyError as e:
                errors.append(RowError(n, col, f"{raw!r} {REASONS[e.reason]}"))
        commission: Decimal | None = None
        if raw := get("commission"):
            try:
                commission = _commission(raw)
            except MoneyError as e:
                errors.append(RowError(n, "commission", f"{raw!r} {REASONS[e.reason]}"))
        who = get("supplier") or supplier
        if who and who not in current.suppliers:
            errors.append(RowError(n, "supplier", f"no supplier {who!r} (tuan supplier add {who} --name ...)"))
        key = (code, norm(spec))
        if code and key in seen:
            errors.append(RowError(n, "spec", f"{spec or '(empty)'} of product {code} is also on row {seen[key]}"))
        if len(errors) > bad or not code:
            continue
        seen[key] = n
        names.setdefault(code, (name, n))
        price = prices["price"]
        assert price is not None
        was = next((v for v in current.variants.get(code, []) if norm(v.spec) == norm(spec)), None)
        kept = commission if "commission" in columns or was is None else was.commission  # as import_changes
        if (why := commission_problem(kept, price)) is not None:
            errors.append(RowError(n, "commission" if "commission" in columns else "price", why))
            continue
        good.append(ImportRow(n, code, name, spec, get("unit"), price, prices["cost"], who or None,
                              _aliases(get("aliases")), commission, "commission" in columns))
    by_code: dict[str, list[ImportRow]] = {}
    for r in good:
        by_code.setdefault(r.code, []).append(r)
    for code, rows in by_code.items():
        stored = [v for v in current.variants.get(code, []) if not any(norm(v.spec) == norm(r.spec) for r in rows)]
        specs = [r.spec for r in rows] + [v.spec for v in stored]
        if len(specs) > 1 and not all(specs):
            r = next((r for r in rows if not r.spec), rows[-1])
            errors.append(RowError(r.row, "spec", f"product {code} has several variants: each needs its spec"))
    if errors:
        errors.sort(key=lambda e: e.row)
        raise ProductImportError(f"{len(errors)} bad row(s); nothing imported", errors)
    return good, ignored


def import_changes(current: LibraryRows, rows: list[ImportRow], now: datetime) -> LibraryChanges:
    """What importing ``rows`` (checked) changes: each product's row (name, and the first row's unit,
    spec, price and supplier; aliases when given) and each variant (a row with no spec is a
    product's only variant)."""
    ch = LibraryChanges()
    by_code: dict[str, list[ImportRow]] = {}
    for r in rows:
        by_code.setdefault(r.code, []).append(r)
    for code, group in by_code.items():
        first = group[0]
        aliases = tuple(dict.fromkeys(a for r in group for a in r.aliases)) if any(r.aliases for r in group) else None
        old = current.products.get(code)
        base = old or ProductRow(id=code, name=first.name, price=first.price, updated_at=now)
        product = replace(base, name=first.name, unit=first.unit, spec=first.spec if len(group) == 1 else "",
                          price=first.price, supplier=first.supplier, active=True,
                          aliases=aliases if aliases is not None else base.aliases, updated_at=now)
        if old is None:
            ch.products.append(product)
            ch.said.append(f"product {code}: added ({first.name})")
        elif not product.same(old):
            ch.products.append(product)
            ch.said.append(f"product {code}: changed ({first.name})")
        stored = {norm(v.spec): v for v in current.variants.get(code, [])}
        last = max((v.position for v in stored.values()), default=0)
        for r in group:
            was = stored.get(norm(r.spec))
            if was is None:
                last += 1
            v = VariantRow(code, was.spec if was else r.spec, r.unit, r.price, r.cost, r.supplier,
                           was.aliases if was else (), True, was.position if was else last, now,
                           commission=r.commission if r.has_commission or was is None else was.commission)
            if was is None:
                ch.variants.append(v)
                ch.said.append(f"variant {v.key}: added ({variant_text(v)})")
            elif not v.same(was):
                ch.variants.append(v)
                ch.said.append(f"variant {v.key}: changed ({variant_text(v)})")
    return ch
