"""`tuan product import|variant|variants`, `tuan supplier add|list` and `tuan purchase`: the product
library's variants and suppliers, a supplier's list imported, and purchase orders (registered by
bot/cli_run.py; ``product`` itself is bot/cli_platform.py's).

Like bot/cli_platform.py, each command opens the store as bot/cli_store.py does (tuan.toml
imported first). Exit status: 0 done, 2 bad input (every bad row of an import on stderr),
1 the store cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import cli_args
from bot.cli_store import config_option, with_platform_store

if TYPE_CHECKING:
    from bot.config import AppConfig
    from bot.ports import Repository
    from storage.platform import SqlPlatformStore


def _library(repo: Repository) -> Any:
    from storage.products import SqlLibraryStore

    return SqlLibraryStore(repo.engine)  # type: ignore[attr-defined]


def _actor() -> tuple[str, str]:
    from bot.cli_operators import actor

    return actor()


def _money(raw: str | None, option: str) -> Any:
    from bot.money import MoneyError, parse_price
    from bot.usecases.platform_data import PlatformDataError

    if raw is None:
        return None
    try:
        return parse_price(raw)
    except MoneyError as e:
        raise PlatformDataError(f"{option} {e}") from None


# --- tuan product import ---------------------------------------------------------------------------

def _import(args: argparse.Namespace) -> int:
    from bot.usecases.platform_data import config_owned
    from bot.usecases.product_import import ProductImportError, check_rows, import_changes, read_table

    def work(config: AppConfig, repo: Repository, store: SqlPlatformStore) -> int:
        table = read_table(Path(args.file))
        library = _library(repo)
        ignored: list[str] = []

        def change(rows: Any) -> Any:
            good, skipped = check_rows(table, rows, supplier=args.supplier, config_owned=config_owned(config, rows.products))
            ignored.extend(skipped)
            done = import_changes(rows, good, datetime.now(UTC))
            if args.dry_run:
                raise _DryRun(done)
            return done

        try:
            done = library.update(change, actor=_actor(), action="product.import")
        except ProductImportError as e:
            print(f"tuan: {args.file}: {e}", file=sys.stderr)
            for err in e.errors:
                print(f"  {err}", file=sys.stderr)
            return 2
        except _DryRun as dry:
            done = dry.done
            print("dry run: nothing written")
        if ignored:
            print(f"ignored columns: {', '.join(ignored)}")
        print("\n".join(done.said) or f"{args.file}: nothing changed ({len(table.rows)} rows)")
        return 0

    return with_platform_store(args, work)


class _DryRun(Exception):
    def __init__(self, done: Any) -> None:
        super().__init__("dry run")
        self.done = done


# --- tuan product variant / variants ------------------------------------------------------------------

def _variant(args: argparse.Namespace) -> int:
    from bot.cli_platform import _aliases
    from bot.usecases.platform_data import PlatformDataError, config_owned
    from bot.usecases.products import VariantRow, set_variant

    def work(config: AppConfig, repo: Repository, store: SqlPlatformStore) -> int:
        owned = config_owned(config, store.load().products)
        if args.code.strip() in owned:
            raise PlatformDataError(f"product {args.code.strip()} comes from {config.source} "
                                    f"(deal {owned[args.code.strip()]}); change it there")
        variant = VariantRow(args.code.strip(), args.spec.strip(), (args.unit or "").strip(),
                             _money(args.price, "--price"), _money(args.cost, "--cost"),
                             (args.supplier or "").strip() or None, _aliases(args.aliases) or (),
                             not args.inactive, updated_at=datetime.now(UTC),
                             commission=_money(args.commission, "--commission"))
        done = _library(repo).update(lambda rows: set_variant(rows, variant), actor=_actor(), action="variant.set")
        print("\n".join(done.said) or f"variant {variant.key}: nothing changed")
        return 0

    return with_platform_store(args, work)


def _variants(args: argparse.Namespace) -> int:
    from bot.cli_platform import _code_order, _print_table

    def work(config: AppConfig, repo: Repository, store: SqlPlatformStore) -> int:
        rows = _library(repo).load()
        products = sorted(rows.products.values(), key=_code_order)
        if args.code:
            products = [p for p in products if p.id == args.code]
        out = [{"code": p.id, "name": p.name, "spec": v.spec, "unit": v.unit, "price": str(v.price),
                "cost": None if v.cost is None else str(v.cost), "supplier": v.supplier, "active": v.active,
                "commission": None if v.commission is None else str(v.commission),
                "stored": v.explicit} for p in products for v in rows.variants_of(p.id)]
        if args.json:
            print(json.dumps(out, ensure_ascii=False, indent=2))
            return 0
        if not out:
            print("no products")
            return 0
        _print_table([("code", "name", "spec", "unit", "price", "cost", "commission", "supplier", "active")] + [
            (v["code"], v["name"], v["spec"] or "-", v["unit"] or "-", v["price"], v["cost"] or "-",
             v["commission"] or "-", v["supplier"] or "-", "yes" if v["active"] else "no") for v in out])
        return 0

    return with_platform_store(args, work)


# --- tuan supplier ---------------------------------------------------------------------------------------

def _supplier_add(args: argparse.Namespace) -> int:
    from bot.usecases.products import SupplierRow, new_supplier

    def work(config: AppConfig, repo: Repository, store: SqlPlatformStore) -> int:
        row = SupplierRow(args.id.strip(), (args.name or args.id).strip(), (args.contact or "").strip(),
                          datetime.now(UTC))
        done = _library(repo).update(lambda rows: new_supplier(rows, row), actor=_actor(), action="supplier.set")
        print("\n".join(done.said))
        return 0

    return with_platform_store(args, work)


def _supplier_list(args: argparse.Namespace) -> int:
    from bot.cli_platform import _print_table

    def work(config: AppConfig, repo: Repository, store: SqlPlatformStore) -> int:
        rows = _library(repo).load()
        count: dict[str, int] = {}
        for p in rows.products.values():
            for v in rows.variants_of(p.id):
                if v.supplier:
                    count[v.supplier] = count.get(v.supplier, 0) + 1
        out = [{"id": s.id, "name": s.name, "contact": s.contact, "variants": count.get(s.id, 0)}
               for s in sorted(rows.suppliers.values(), key=lambda s: s.id)]
        if args.json:
            print(json.dumps(out, ensure_ascii=False, indent=2))
        elif not out:
            print("no suppliers (tuan supplier add ID --name NAME)")
        else:
            _print_table([("id", "name", "contact", "variants")] + [
                (s["id"], s["name"], s["contact"] or "-", str(s["variants"])) for s in out])
        return 0

    return with_platform_store(args, work)


# --- tuan purchase ------------------------------------------------------------------------------------------

def _purchase(args: argparse.Namespace) -> int:
    from bot.cli_output import emit
    from bot.usecases.platform_data import PlatformDataError
    from bot.usecases.purchase import as_csv, as_text, as_xlsx, purchase_order

    def work(config: AppConfig, repo: Repository, store: SqlPlatformStore) -> int:
        library = _library(repo).load()
        if args.supplier is not None and args.supplier not in library.suppliers:
            raise PlatformDataError(f"no supplier {args.supplier!r} (see `tuan supplier list`)")
        names = {s.id: s.name for s in library.suppliers.values()}
        order = purchase_order(repo.engine, repo, args.date, args.supplier)  # type: ignore[attr-defined]
        if args.format == "table":
            emit(args.output, (as_text(order, names) + "\n").encode("utf-8"), fail=PlatformDataError)
            return 0
        data = as_xlsx(order, names) if args.format == "xlsx" else as_csv(order, names)
        emit(args.output, data, binary="XLSX" if args.format == "xlsx" else None, fail=PlatformDataError)
        if args.output not in (None, "-"):
            print(f"{len(order.lines)} lines, {len(order.routes)} routes, {len(order.deals)} deals", file=sys.stderr)
        return 0

    return with_platform_store(args, work)


# --- registration -------------------------------------------------------------------------------------------

def add_products_parsers(subparsers: Any) -> None:
    """Add ``product import|variant|variants``, ``supplier`` and ``purchase`` to the ``tuan`` command."""
    from bot.cli_platform import subcommands_of

    actions = subcommands_of(subparsers, "product", "the product library")
    imp = actions.add_parser("import", help="import a supplier's list (.xlsx or .csv; see docs/products.md)")
    imp.add_argument("file", metavar="FILE", help="the .xlsx (first sheet) or .csv file")
    imp.add_argument("--supplier", metavar="ID", help="the supplier of rows whose 供应商 column is empty")
    imp.add_argument("--dry-run", action="store_true", help="check and say what would change; write nothing")
    config_option(imp)
    imp.set_defaults(handler=_import)

    var = actions.add_parser("variant", help="add or change one variant (规格) of a product")
    var.add_argument("code", metavar="CODE", help="the product's code")
    var.add_argument("spec", metavar="SPEC", help="the variant's spec, e.g. 5斤装")
    var.add_argument("--price", required=True, metavar="YUAN", help="price in yuan")
    var.add_argument("--cost", metavar="YUAN", help="cost price in yuan (for purchase orders)")
    var.add_argument("--unit", help="unit, e.g. 箱")
    var.add_argument("--supplier", metavar="ID", help="the supplier's id (tuan supplier list)")
    var.add_argument("--commission", metavar="YUAN",
                     help="the leader's commission per unit sold, in yuan (instead of their rate on this variant)")
    var.add_argument("--aliases", metavar="A,B", help="extra words residents name this variant by")
    var.add_argument("--inactive", action="store_true", help="not offered in new deals")
    config_option(var)
    var.set_defaults(handler=_variant)

    vs = actions.add_parser("variants", help="every product's variants, with cost and supplier")
    vs.add_argument("code", metavar="CODE", nargs="?", help="one product only")
    vs.add_argument("--json", action="store_true", help="print JSON")
    config_option(vs)
    vs.set_defaults(handler=_variants)

    supplier = subparsers.add_parser("supplier", help="suppliers (供应商): add, list")
    sactions = supplier.add_subparsers(dest="supplier_command", required=True)
    add = sactions.add_parser("add", help="add a supplier (or change its name and contact)")
    add.add_argument("id", metavar="ID", help="how products name it, e.g. 鲜果园")
    add.add_argument("--name", help="its name (default: the id)")
    add.add_argument("--contact", help="phone or WeChat of the contact")
    config_option(add)
    add.set_defaults(handler=_supplier_add)
    ls = sactions.add_parser("list", help="every supplier")
    ls.add_argument("--json", action="store_true", help="print JSON")
    config_option(ls)
    ls.set_defaults(handler=_supplier_list)

    pur = subparsers.add_parser("purchase", help="purchase orders (统一下单) of a delivery date, per supplier")
    pur.add_argument("--date", required=True, type=cli_args.day("--date"), metavar="YYYY-MM-DD", help="the delivery date")
    pur.add_argument("--supplier", metavar="ID", help="one supplier only")
    pur.add_argument("--format", choices=("table", "csv", "xlsx"), default="table", help="default: table")
    pur.add_argument("-o", "--output", metavar="FILE", help="write to FILE (needed for xlsx)")
    config_option(pur)
    pur.set_defaults(handler=_purchase)
