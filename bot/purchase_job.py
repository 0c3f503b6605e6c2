"""The ``purchase`` schedule kind: at the cutoff, the purchase orders (统一下单) go to the operators.

``[[schedules]] kind = "purchase"`` (or a store schedule of that kind) names a group; when it fires,
the purchase orders of the delivery date of that group's current deal (else of the next day in the
bot's time zone) are built from the store (bot/usecases/purchase.py) and sent privately to every
operator with an account on the group's platform, as /export sends: an XLSX file (采购汇总 and
配送分单) where the platform takes files, else the tables as text. ``text``, when set, heads the
message. Every supplier is included.
"""

from __future__ import annotations

import logging

from bot import products_messages as pm
from bot.context import Core, split_chat_key

log = logging.getLogger(__name__)


async def send_purchase_order(core: Core, chat_key: str, text: str) -> bool:
    """Send the purchase orders to the operators of ``chat_key``'s platform; True when it reached one.

    Nothing is sent (False) without a SQL store, without an operator who has a private chat, or
    when the store cannot be read (logged).
    """
    import asyncio

    from bot.usecases.history import NoSqlStore, engine_of
    from bot.usecases.purchase import as_text, as_xlsx, job_delivery, operator_chats, purchase_order
    from bot.worker import locked_call
    from storage.products import SqlLibraryStore

    platform = split_chat_key(chat_key)[0]
    try:
        engine = engine_of(core.service.repo)
    except NoSqlStore:
        log.warning("purchase orders need a SQL store; %s has none", chat_key)
        return False

    def build() -> tuple[list[str], object, dict[str, str]]:
        current = core.current(chat_key)
        delivery = job_delivery(engine, current[0] if current else None, core.now().astimezone(core.config.bot.tz).date())
        names = {s.id: s.name for s in SqlLibraryStore(engine).load().suppliers.values()}
        return operator_chats(engine, platform), purchase_order(engine, core.service.repo, delivery), names

    try:
        to, order, names = await locked_call(core.lock, build)
    except Exception:
        log.exception("building the purchase orders for %s failed", chat_key)
        return False
    if not to:
        log.warning("no operator with a private chat on %s for the purchase orders", platform)
        return False
    from bot.usecases.purchase import PurchaseOrder

    assert isinstance(order, PurchaseOrder)
    adapter = core.adapter_of(chat_key)
    body = as_text(order, names)
    caption = pm.PURCHASE_CAPTION.format(date=order.delivery.isoformat())
    data = await asyncio.to_thread(as_xlsx, order, names) if order.lines and adapter is not None \
        and adapter.capabilities.files else None
    sent = 0
    for target in to:
        if data is not None and adapter is not None:
            filename = f"tuan-purchase-{order.delivery.isoformat()}.xlsx"
            if await adapter.send_file(split_chat_key(target)[1], filename, data,
                                       caption=f"{text}\n{caption}" if text else caption):
                sent += 1
                continue
        if await core.send(target, f"{text}\n{body}" if text else body, preformatted=True) is not None:
            sent += 1
    return bool(sent)
