"""A deal's pages and actions: the page (households, stocking and sorting lists, refunds), its live
counts, its exports, the leader's-day actions (verify, unverify, paid, refund, short) and copying it.
Every handler starts with :func:`bot.web.core._deal_scope` (403 for a deal of another group)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from bot.inputs import MAX_COUNT
from bot.money import MoneyError, parse_amount
from bot.usecases.leaderday import Actor, Result
from bot.web import params, views
from bot.web import texts as t
from bot.web.auth import Viewer
from bot.web.core import (
    Web,
    _audit,
    _back,
    _csrf,
    _deal_scope,
    _flash,
    _form,
    _group_query,
    _sse,
    _stream,
    _web,
)

# --- a deal ---------------------------------------------------------------------------------------------

async def deal(request: Request) -> Response:
    deal_id = request.path_params["deal_id"]
    viewer, visible, shown = await _deal_scope(request, deal_id)
    web = _web(request)
    page = await web.service(views.deal_page, web.ctx, deal_id, shown, visible)
    names = await asyncio.to_thread(views.titles, web.ctx, visible)
    return web.page(request, "deal.html", d=page, groups=names, shown=shown, query=_group_query(shown),
                    tz=web.ctx.config.bot.tz)


async def deal_households(request: Request) -> Response:
    deal_id = request.path_params["deal_id"]
    viewer, visible, shown = await _deal_scope(request, deal_id)
    web = _web(request)
    deal_row = await asyncio.to_thread(web.ctx.repo.get_deal, deal_id)
    rows = await web.service(views.household_rows, web.ctx, deal_id, shown, visible)
    html = web.env.get_template("households.html").render(d={"deal": deal_row, "households": rows},
                                                          csrf=_csrf(request), query=_group_query(shown), viewer=viewer,
                                                          tz=web.ctx.config.bot.tz, t=t)
    return HTMLResponse(html)


async def deal_api(request: Request) -> Response:
    deal_id = request.path_params["deal_id"]
    viewer, visible, shown = await _deal_scope(request, deal_id)
    web = _web(request)
    return JSONResponse(await web.service(views.summary, web.ctx, deal_id, shown))


async def deal_events(request: Request) -> Response:
    deal_id = request.path_params["deal_id"]
    viewer, visible, shown = await _deal_scope(request, deal_id)
    ctx = _web(request).ctx
    return _sse(_stream(request, lambda: views.deal_version(ctx, deal_id), lambda: views.summary(ctx, deal_id, shown),
                        lambda now: set(now.visible(visible)) == set(visible)))


async def deal_export(request: Request) -> Response:
    """GET /deals/{id}/export.{xlsx|csv|pdf}: the deal's spreadsheet as /export makes it, or (pdf) its
    print-ready sorting sheet (:func:`bot.usecases.lists.sorting_sheet`), of the chats the viewer sees."""
    deal_id, fmt = request.path_params["deal_id"], request.path_params["fmt"]
    if fmt not in ("xlsx", "csv", "pdf"):
        raise HTTPException(404, t.NOT_FOUND)
    viewer, visible, shown = await _deal_scope(request, deal_id)
    web = _web(request)
    if fmt == "pdf":
        data = await web.service(views.sorting_pdf, web.ctx, deal_id, shown, visible)
        return Response(data, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="tuan-{deal_id}-sorting.pdf"'})
    data = await web.service(views.export, web.ctx, deal_id, shown, visible, fmt)
    media = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="tuan-{deal_id}.{fmt}"'})


def _money(text: str, *, zero_ok: bool = False) -> Decimal | None:
    """A form's amount (None when blank) by :func:`bot.money.parse_amount`; raises ValueError."""
    if not text.strip():
        return None
    try:
        return parse_amount(text, zero_ok=zero_ok)
    except MoneyError:
        raise ValueError(text.strip()) from None


def _said(res: Result, ok: str, **values: Any) -> tuple[str, bool]:
    if res.status != "ok":
        names = "、".join(h.label for h in res.candidates)
        return t.RESULT.get(res.status, res.status) + (f"：{names}" if names else ""), False
    h = res.household
    return ok.format(label=h.label if h else "", code=res.marks.pickup_code if res.marks else "", **values), True


def _not_theirs(web: Web, deal_id: str, viewer: Viewer) -> list[str]:
    """The chats with households in the deal that ``viewer`` does not see, sorted: a short delivery
    refunds every household of the round, so it is refused unless this is empty (the chat's /short:
    bot/settle_commands.py ``cmd_short``)."""
    return sorted({h.chat_key for h in web.ctx.leader_day().households(deal_id) if not viewer.sees(h.chat_key)})


async def deal_action(request: Request) -> Response:
    """POST /deals/{id}/{verify|unverify|paid|refund|short}: the leader's-day use cases, for a
    household of a chat the viewer sees: ``household`` "chat|key" (``key`` the household's
    :func:`~bot.usecases.leaderday_model.mark_id`, ``sender/neighbour`` for a neighbour a resident
    ordered for), or ``chat_key`` and ``sender_id`` (the same key), or a pickup ``code`` for verify
    and unverify. The key names exactly one household, never the resident's own in its stead;
    ``short``: the supplier delivered ``delivered`` of ``item`` (the group's households are filled
    first come first served, the rest refunded)."""
    deal_id, action = request.path_params["deal_id"], request.path_params["action"]
    viewer, visible, shown = await _deal_scope(request, deal_id)
    form = await _form(request)
    web = _web(request)
    back = f"/deals/{deal_id}{_group_query(shown)}"
    chat_key, _, key = str(form.get("household") or "").partition("|")
    chat_key = chat_key or str(form.get("chat_key") or shown or "")
    key = key or str(form.get("sender_id") or "")
    code = str(form.get("code") or "").strip()
    if not chat_key and action in ("verify", "unverify") and code:  # a pickup code is unique in the round: any of the viewer's groups
        chats = visible
    elif not chat_key and (len(visible) == 1 or action == "short"):  # a short delivery is the whole round's
        chats = visible
    else:
        chats = [chat_key]
    if any(k not in visible for k in chats):
        raise HTTPException(403, t.FORBIDDEN)
    actor = Actor(chats[0], viewer.actor_id, viewer.name)
    now = datetime.now(UTC)
    day = web.ctx.leader_day()
    try:
        if action in ("verify", "unverify"):
            if action == "unverify" and not (code or key):
                raise HTTPException(400, t.RESULT["none"])
            for chat in chats:  # each of the viewer's groups in turn: the household is found in its own group only
                actor = Actor(chat, viewer.actor_id, viewer.name)
                if action == "verify":
                    res = await asyncio.to_thread(day.verify, deal_id, actor, now, code=code, key="" if code else key)
                else:
                    res = await asyncio.to_thread(day.unverify, deal_id, actor, now, code=code, key="" if code else key)
                if res.status != "none":
                    break
            text, ok = _said(res, t.VERIFIED if action == "verify" else t.UNVERIFIED)
        elif action == "paid":
            amount = _money(str(form.get("amount") or ""), zero_ok=True)
            res = await asyncio.to_thread(day.mark_paid, deal_id, actor, now, "", amount, key=key)
            text, ok = _said(res, t.PAID, amount=views.money(res.amount))
        elif action == "refund":
            amount = _money(str(form.get("amount") or ""))
            qty = params.form_whole(str(form.get("qty") or ""), "数量", 0, MAX_COUNT)
            res = await asyncio.to_thread(day.refund, deal_id, actor, now, "", str(form.get("item") or ""), qty,
                                          str(form.get("reason") or "").strip()[:200], amount, key=key)
            text, ok = _said(res, t.REFUNDED, amount=views.money(res.amount))
        elif action == "short":
            from bot.usecases.leaderday import ShortResult

            delivered = params.form_whole(str(form.get("delivered") or ""), "到货数量", 0, MAX_COUNT)
            others = await asyncio.to_thread(_not_theirs, web, deal_id, viewer)
            if others:  # as the chat's /short: a round shared with groups the viewer does not lead is not theirs
                names = await asyncio.to_thread(views.titles, web.ctx, others)
                _flash(request, t.SHORT_SHARED_NOT_YOURS.format(groups="、".join(names.values())), False)
                return _back(back)
            got = await asyncio.to_thread(day.short, deal_id, actor, now, str(form.get("item") or ""), delivered)
            if isinstance(got, ShortResult):
                text, ok = t.SHORTED.format(item=got.item.name, delivered=got.delivered, ordered=got.ordered,
                                            n=len(got.lines), amount=views.money(got.refunded)), True
            else:
                text, ok = _said(got, "")
        else:
            raise HTTPException(404, t.NOT_FOUND)
    except params.Refused as e:
        text, ok = str(e), False
    except ValueError as e:
        text, ok = t.BAD_AMOUNT.format(text=e), False
    _flash(request, text, ok)
    return _back(back)


async def deal_copy(request: Request) -> Response:
    """POST /deals/{id}/copy: open the round again (same items, prices, stock; no cutoff) for one of
    the viewer's groups, and post its card there (the outbox)."""
    from bot.ports import ChatRetired
    from bot.usecases.history import GroupRetired, RoundStillOpen, UnknownGroup, copy_round

    deal_id = request.path_params["deal_id"]
    viewer, visible, shown = await _deal_scope(request, deal_id)
    form = await _form(request)
    chat_key = str(form.get("chat_key") or shown or "")
    if chat_key and chat_key not in visible:
        raise HTTPException(403, t.FORBIDDEN)
    web = _web(request)
    targets = [chat_key] if chat_key else visible
    try:
        new_ids = []
        for key in targets:
            new_ids.append(await web.service(copy_round, web.ctx.service, web.ctx.engine, web.ctx.config, deal_id,
                                             key, announce=True))
    except (RoundStillOpen, UnknownGroup) as e:
        _flash(request, t.STILL_OPEN.format(group=str(e).split(" has ")[0]), False)
        return _back(f"/deals/{deal_id}")
    except (GroupRetired, ChatRetired):
        _flash(request, t.GROUP_RETIRED, False)
        return _back(f"/deals/{deal_id}")
    names = await asyncio.to_thread(views.titles, web.ctx, targets)
    for key, new_id in zip(targets, new_ids, strict=True):
        await _audit(request, viewer, "publish", key, new_id, f"copy of {deal_id}")
    _flash(request, t.COPIED.format(groups="、".join(names.values())))
    return _back(f"/deals/{new_ids[0]}")
