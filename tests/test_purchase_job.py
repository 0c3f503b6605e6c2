"""The ``purchase`` schedule kind: at the cutoff the purchase order goes privately to the operators,
an XLSX where the platform takes files, text where it does not; through the real pipeline."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from adapters.base import Capabilities
from adapters.fake import sender_id_of
from bot.config import config_from_dict
from bot.scheduler import BotScheduler, job_specs
from bot.usecases.platform_data import ProductRow, import_config
from bot.usecases.products import LibraryChanges, SupplierRow, VariantRow, deal_catalog, parse_picks
from storage.platform import SqlPlatformStore
from storage.products import SqlLibraryStore, record_sources
from tests.pipeline import LEADER, Pipeline, config_dict, make_pipeline

TZ = ZoneInfo("Asia/Shanghai")
JOB = "home:purchase:0_21_*_*_*"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def day(caps: Capabilities) -> tuple[Pipeline, BotScheduler]:
    data = config_dict()
    data["schedules"] = [{"group": "home", "kind": "purchase", "time": "21:00"}]
    config = config_from_dict(data, "test.toml", env={})
    p = await make_pipeline(caps, config=config)
    p.core.clock = Clock(datetime(2026, 11, 30, 21, 0, 1, tzinfo=TZ))
    engine = p.repo.engine  # type: ignore[attr-defined]
    import_config(SqlPlatformStore(engine), config)  # the operator: [bot] leaders
    now = datetime(2026, 11, 30, tzinfo=TZ)
    library = SqlLibraryStore(engine)
    library.update(lambda rows: LibraryChanges(
        suppliers=[SupplierRow("S1", "鲜果园", updated_at=now)],
        products=[ProductRow("G1", "葡萄", Decimal("50"), "箱", updated_at=now)],
        variants=[VariantRow("G1", "5斤装", "箱", Decimal("50"), Decimal("38"), "S1", position=1, updated_at=now),
                  VariantRow("G1", "10斤装", "箱", Decimal("95"), Decimal("72.5"), "S1", position=2,
                             updated_at=now)]))
    catalog, sources = deal_catalog(library.load(), parse_picks("G1"), title="葡萄团", cutoff=None)
    deal_id = p.core.service.open_deal(catalog, ["fake:g1"], title="葡萄团", source="cli")
    record_sources(engine, deal_id, date(2026, 12, 1), sources)
    await p.chat.push("葡萄 5斤装 2", sender="王姐")
    await p.chat.push("葡萄3", sender="李阿姨")  # asked: which one
    await p.chat.push("10斤装", sender="李阿姨")  # 3 of 10斤装
    p.chat.pop_all()
    return p, BotScheduler(p.core, job_specs(config))


async def test_the_purchase_order_goes_to_the_operator_as_a_workbook() -> None:
    from openpyxl import load_workbook

    p, sched = await day(Capabilities(files=True, direct=True))
    assert [s.id for s in sched.specs.values()] == [JOB]
    assert await sched.fire(JOB) is True
    sent = p.chat.pop_all()
    assert [(s.kind, s.chat_id) for s in sent] == [("file", sender_id_of(LEADER))]
    assert "2026-12-01" in sent[0].text
    wb = load_workbook(io.BytesIO(sent[0].data))
    rows = [list(r) for r in wb["采购汇总"].iter_rows(min_row=2, values_only=True)]
    # 5斤装 2 × 38 = 76; 10斤装 3 × 72.5 = 217.5; 5 boxes, 293.50
    assert rows[:2] == [["鲜果园", "G1", "葡萄 5斤装", "5斤装", "箱", 2, 38, 76],
                        ["鲜果园", "G1", "葡萄 10斤装", "10斤装", "箱", 3, 72.5, 217.5]]
    assert rows[-1][5] == 5 and rows[-1][7] == 293.5
    assert await sched.fire(JOB) is False  # the same slot: not sent twice
    await p.close()


async def test_without_files_the_operator_gets_the_tables_as_text() -> None:
    p, sched = await day(Capabilities(direct=True))
    assert await sched.fire(JOB) is True
    sent = p.chat.pop_all()
    assert [(s.kind, s.chat_id) for s in sent] == [("text", sender_id_of(LEADER))]
    assert "送货日 2026-12-01" in sent[0].text and "293.50" in sent[0].text
    await p.close()
