"""The library and the platform's pages: products, compose and publish, the day's stocking list,
schedules, the audit log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bot import inputs
from bot import messages as m
from bot.ports import ChatRetired
from bot.web import auth, params, views
from bot.web import texts as t
from bot.web.core import (
    COPY_ROUNDS,
    _audit,
    _back,
    _flash,
    _form,
    _operator,
    _viewer,
    _web,
)
from bot.web.views import WebContext

# --- products, compose, schedules, audit ---------------------------------------------------------------

IMPORT_MAX_BYTES = 5 * 1024 * 1024
"""The largest product list the import takes (bytes)."""


async def products(request: Request, status: int = 200, **result: Any) -> Response:
    """GET /products: the library, each product with its variants (spec, unit, price, cost, supplier)."""
    await _viewer(request)
    web = _web(request)
    rows, owned = await asyncio.to_thread(_products, web.ctx)
    variants = await asyncio.to_thread(_variants, web.ctx)
    return web.page(request, "products.html", status, products=rows, owned=owned, variants=variants, **result)


def _variants(ctx: WebContext) -> dict[str, list[Any]]:
    """Product code → its explicit variants (none: the product's own row is its only variant)."""
    from storage.products import SqlLibraryStore

    library = SqlLibraryStore(ctx.engine).load()
    return {pid: list(vs) for pid, vs in library.variants.items() if vs}


async def product_import(request: Request) -> Response:
    """POST /import/products (multipart, operators, CSRF): a supplier's list (.xlsx or .csv) imported as
    `tuan product import` does (:mod:`bot.usecases.product_import`): every row checked first, nothing
    written when any row is bad (the page lists each bad row), else one transaction; audited."""
    import tempfile
    from pathlib import Path

    from bot.usecases.platform_data import config_owned
    from bot.usecases.product_import import (
        COLUMNS,
        ProductImportError,
        check_rows,
        import_changes,
        read_table,
    )
    from storage.products import SqlLibraryStore

    viewer = await _operator(request)
    form = await _form(request)
    web = _web(request)
    upload = form.get("file")
    try:
        data = await upload.read(IMPORT_MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
    finally:
        await form.close()
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await products(request, 400, import_error=t.IMPORT_NO_FILE, import_errors=[])
    if len(data) > IMPORT_MAX_BYTES:
        return await products(request, 413, import_error=t.IMPORT_TOO_BIG.format(mb=IMPORT_MAX_BYTES // 2**20),
                              import_errors=[])
    name = Path(upload.filename).name
    supplier = str(form.get("supplier") or "").strip() or None

    def run() -> tuple[Any, int]:
        with tempfile.TemporaryDirectory(prefix="tuan-import-") as tmp:
            path = Path(tmp) / ("upload" + Path(name).suffix.lower())
            path.write_bytes(data)
            table = read_table(path)
        done = SqlLibraryStore(web.ctx.engine).update(
            lambda rows: import_changes(rows, check_rows(table, rows, supplier=supplier, config_owned=config_owned(web.ctx.config, rows.products))[0],
                                        datetime.now(UTC)))
        return done, len(table.rows)

    try:
        done, count = await asyncio.to_thread(run)
    except ProductImportError as e:
        return await products(request, 400, import_error=f"{t.IMPORT_FAILED}：{name}: {e}",
                              import_errors=[t.IMPORT_ROW.format(row=err.row, column=COLUMNS.get(err.column, (err.column,))[0],
                                                                 why=err.why) for err in e.errors])
    if done.said:
        await _audit(request, viewer, "product", "web", None, f"import {name}: " + "; ".join(done.said)[:2000])
    return await products(request, import_done=t.IMPORTED.format(n=len(done.said)) if done.said else
                          t.IMPORT_NOTHING.format(rows=count), import_said=done.said)


def _products(ctx: WebContext) -> tuple[list[Any], set[str]]:
    from bot.usecases.platform_data import config_owned
    from storage.platform import SqlPlatformStore

    rows = SqlPlatformStore(ctx.engine).load()
    return sorted(rows.products.values(), key=lambda p: inputs.numeric_first(p.id)), set(config_owned(ctx.config, rows.products))


def _aliases(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a.strip() for a in raw.replace("，", ",").split(",") if a.strip()))


async def product_save(request: Request) -> Response:
    """POST /products (add, ``code`` in the form) or /products/{code} (edit): operators only, the
    same use cases as `tuan product add|edit`."""
    from bot.money import MoneyError, parse_price
    from bot.usecases.platform_data import PlatformDataError, ProductRow, changed_product, new_product
    from storage.platform import SqlPlatformStore

    viewer = await _operator(request)
    form = await _form(request)
    web = _web(request)
    code = str(request.path_params.get("code") or form.get("code") or "").strip()
    name = str(form.get("name") or "").strip()
    now = datetime.now(UTC)
    try:
        price = parse_price(str(form.get("price") or ""))
        if not code or not name:
            raise PlatformDataError("编号和名称不能为空")
        fields = dict(name=name, price=price, unit=str(form.get("unit") or "").strip(),
                      aliases=_aliases(str(form.get("aliases") or "")), spec=str(form.get("spec") or "").strip(),
                      supplier=str(form.get("supplier") or "").strip() or None)
        store = SqlPlatformStore(web.ctx.engine)
        if "code" in request.path_params:
            active = form.get("active") == "1"
            done = await asyncio.to_thread(store.update, lambda rows: changed_product(
                rows, web.ctx.config, code, now, **fields, active=active))
        else:
            product = ProductRow(id=code, updated_at=now, **fields)  # type: ignore[arg-type]
            done = await asyncio.to_thread(store.update, lambda rows: new_product(rows, web.ctx.config, product))
    except (MoneyError, PlatformDataError) as e:
        _flash(request, str(e), False)
        return _back("/products")
    if done.said:
        await _audit(request, viewer, "product", "web", None, "; ".join(done.said))
    _flash(request, t.PRODUCT_SAVED.format(code=code))
    return _back("/products")


async def compose(request: Request) -> Response:
    viewer = await _viewer(request)
    web = _web(request)
    return web.page(request, "compose.html", **await asyncio.to_thread(_compose_data, web.ctx, viewer))


def _compose_data(ctx: WebContext, viewer: auth.Viewer) -> dict[str, Any]:
    from bot.usecases.history import list_rounds
    from storage.history import reading

    seen = views.groups_seen(ctx, viewer.chat_keys)
    retired = {g["chat_key"] for g in seen if g.get("retired_at") is not None}  # no new round opens there
    groups = [g for g in seen if g["chat_key"] not in retired]
    rows, _owned = _products(ctx)
    with reading(ctx.engine) as conn:
        rounds = list_rounds(conn, ctx.config, days=30, limit=COPY_ROUNDS) if viewer.operator else [
            r for key in sorted(viewer.chat_keys or ()) for r in list_rounds(conn, ctx.config, group=key, days=30,
                                                                            limit=5)]
    rounds = [r for r in rounds if any(viewer.sees(g.chat_key) and g.chat_key not in retired for g in r.groups)]
    return {"groups": groups, "products": [p for p in rows if p.active], "rounds": rounds, "retired": retired}


async def compose_post(request: Request) -> Response:
    """POST /compose: ``action`` "preview" (the card as residents will see it) or "publish" (open the
    deal for the chosen groups and post its card through the outbox)."""
    from bot.render import deal_card
    from bot.usecases.platform_data import PlatformDataError, deal_catalog
    from storage.platform import SqlPlatformStore

    viewer = await _viewer(request)
    form = await _form(request)
    web = _web(request)
    data = await asyncio.to_thread(_compose_data, web.ctx, viewer)
    keys = [str(k) for k in form.getlist("group")]
    if any(not viewer.sees(k) for k in keys) or any(k not in {g["chat_key"] for g in data["groups"]} for k in keys):
        raise HTTPException(403, t.FORBIDDEN)
    picks: list[tuple[str, int | None]] = []
    error = ""
    for code in (str(c) for c in form.getlist("pick")):
        raw = str(form.get(f"stock_{code}") or "").strip()
        try:
            picks.append((code, inputs.whole(raw, 0, inputs.MAX_COUNT) if raw else None))
        except inputs.BadInput as e:
            error = params.problem(e, "库存", raw, number=True)
            picks.append((code, None))
    group = next((g for g in data["groups"] if keys and g["chat_key"] == keys[0]), None)
    tz = ZoneInfo(group["timezone"]) if group else web.ctx.config.bot.tz
    local = datetime.now(tz)
    title = str(form.get("title") or "").strip()[:60] or m.CLI_DEAL_TITLE.format(month=local.month, day=local.day)
    cutoff = None
    raw_cut = str(form.get("cutoff") or "").strip()
    if raw_cut:
        try:
            cutoff = inputs.moment(raw_cut, tz)
        except inputs.BadInput as e:
            error = params.problem(e, "截单时间", raw_cut, time=True)
        else:
            if cutoff <= datetime.now(UTC):
                error = f"截单时间已过：{raw_cut}"
    if not keys:
        error = error or t.NO_GROUP_CHOSEN
    if not picks:
        error = error or t.NO_PRODUCT_CHOSEN
    card = ""
    catalog = None
    if not error:
        try:
            rows = await asyncio.to_thread(SqlPlatformStore(web.ctx.engine).load)
            catalog = deal_catalog(rows, picks, title=title, cutoff=cutoff)
        except PlatformDataError as e:
            error = str(e)
        else:
            when = cutoff.strftime("%m月%d日 %H:%M") if cutoff else ""
            card = deal_card(catalog, title=title, cutoff=when).text
    action = form.get("action")
    if error or action != "publish" or catalog is None:
        return web.page(request, "compose.html", 400 if error else 200, error=error, card=card, chosen=keys,
                        picked=dict(picks), title=title, cutoff=raw_cut, **data)

    def publish() -> str:
        for key in keys:
            current = web.ctx.service.deal_of(key)
            if current is not None and current.status == "open":
                raise PlatformDataError(t.STILL_OPEN.format(group=views.titles(web.ctx, [key])[key]))
        try:
            return web.ctx.service.open_deal(catalog, keys, title=title, source="web", announce=True)
        except ChatRetired:  # retired since the page was read: the store decides
            raise PlatformDataError(t.GROUP_RETIRED) from None

    try:
        deal_id = await web.service(publish)
    except PlatformDataError as e:
        return web.page(request, "compose.html", 409, error=str(e), card=card, chosen=keys, picked=dict(picks),
                        title=title, cutoff=raw_cut, **data)
    names = await asyncio.to_thread(views.titles, web.ctx, keys)
    for key in keys:
        await _audit(request, viewer, "publish", key, deal_id,
                     f"title={title} items=" + ",".join(f"{c}:{s if s is not None else '-'}" for c, s in picks))
    _flash(request, t.PUBLISHED.format(title=title, groups="、".join(names.values())))
    return _back(f"/deals/{deal_id}")


def _day(request: Request) -> Any:
    raw = request.query_params.get("date", "")
    return params.day(raw, "日期") if raw else datetime.now(_web(request).ctx.config.bot.tz).date()


async def stock(request: Request) -> Response:
    """The stocking list (备货单) of every round opened on ``?date=`` (default today) in the viewer's
    groups, as `tuan stock --date` makes it; ``/stock.csv`` downloads it."""
    from bot.export import stock_csv
    from bot.usecases.lists import day_stock

    viewer = await _viewer(request)
    web = _web(request)
    day = _day(request)
    keys = None if viewer.chat_keys is None else sorted(viewer.chat_keys)
    ids, lines = await web.service(day_stock, web.ctx.service, web.ctx.config, day, keys)
    if request.url.path.endswith(".csv"):
        return Response(stock_csv(lines), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="tuan-stock-{day.isoformat()}.csv"'})
    return web.page(request, "stock.html", day=day, deals=ids, stock=lines)


async def schedules(request: Request) -> Response:
    from bot.crontab import crontab_trigger

    viewer = await _viewer(request)
    web = _web(request)
    config = web.ctx.config
    tz = config.bot.tz
    now = datetime.now(tz)
    rows = []
    for s in config.schedules:
        group = config.group(s.group)
        if group is None or not viewer.sees(group.chat_key):
            continue
        nxt = crontab_trigger(s.cron, tz).get_next_fire_time(None, now)
        rows.append({"group": group.title or group.id, "kind": s.kind, "cron": s.cron, "text": s.text,
                     "next": nxt.strftime("%m-%d %H:%M") if nxt else "-"})
    return web.page(request, "schedules.html", schedules=rows)


async def audit_page(request: Request) -> Response:
    from storage import web as store

    viewer = await _viewer(request)
    web = _web(request)
    raw = request.query_params.get("before", "")
    before = params.whole(raw, "翻页位置", 1, inputs.MAX_ID) if raw else None

    def read() -> list[dict[str, Any]]:
        with web.ctx.engine.connect() as conn:
            keys = None if viewer.chat_keys is None else sorted(viewer.chat_keys)
            return store.audit_page(conn, chat_keys=keys, before=before)

    rows = await asyncio.to_thread(read)
    return web.page(request, "audit.html", rows=rows, tz=web.ctx.config.bot.tz)
