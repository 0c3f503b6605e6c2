"""The print-ready sorting sheet (分拣单 PDF): a page per pickup point, read back with pypdf.

On the store of tests/test_leaderlists.py (水果团 in two groups: 东门 17 households ¥797.40, 南门 10
households ¥423.00). pypdf extracts the text of reportlab's STSong-Light CID font whole: every
label, 跟团号, amount and heading is checked as text.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.fake import sender_id_of
from bot import messages as m
from bot.config import config_from_dict
from bot.leaderlists import Marks, household_views, sorting_list
from bot.sheet_pdf import sorting_pdf
from tests.test_leaderlists import POINTS, SORTED_EAST, SORTED_SOUTH, TITLES, Day, build_day, fruit, tuan

G1 = "fake:g1"


@pytest.fixture
def day(tmp_path: Path) -> Day:
    return build_day(tmp_path)


def pages(data: bytes) -> list[str]:
    from pypdf import PdfReader

    assert data.startswith(b"%PDF-")
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def numbers_in(text: str) -> list[int]:
    """The 跟团号 cells (#N) of a page, top to bottom."""
    return [int(w[1:]) for w in text.split() if w.startswith("#") and w[1:].isdigit()]


def test_a_page_per_pickup_point_with_each_households_cells(day: Day) -> None:
    marks = {(G1, sender_id_of("王姐")): Marks(paid=True, paid_amount=Decimal("91.80")),
             (G1, sender_id_of("李姐")): Marks(picked=True, refunds={"2": Decimal("25.80")})}
    views = household_views(day.svc.tally(day.fruit), fruit(), group_points=POINTS, group_titles=TITLES, marks=marks)
    points = sorting_list(views, point_order=["东门", "西门", "南门"])
    east, south = pages(sorting_pdf(points, title="水果团 11月29日", printed=datetime(2026, 11, 30, 7, 5)))
    assert m.PDF_TITLE.format(title="水果团 11月29日") in east
    assert m.PDF_POINT.format(point="东门", households=17, amount="797.40") in east
    assert m.PDF_POINT.format(point="南门", households=10, amount="423.00") in south
    assert "南门" not in east.replace("自提点:南门", "") and "东门" not in south
    assert all(c in east for c in m.PDF_COLUMNS)
    assert numbers_in(east) == SORTED_EAST and numbers_in(south) == SORTED_SOUTH  # walking order
    for cell in ["3栋402 王姐", "葡萄2盒 鸡蛋1盒", "¥91.80", "已付 ¥91.80", "李姐 5-1-302", "¥25.80",
                 "6栋101刘奶奶", "王姐代订", "郑 13812345678", "第1页", "打印于2026-11-30 07:05"]:
        assert cell in east, cell
    assert east.count(m.MARK_PICKED) == 1 and east.count(m.PDF_NOT_PICKED) == 16  # a box to tick for the rest
    assert "8栋301宋奶奶" in south and "宋代订" in south and "¥423.00" in south


def test_a_long_point_runs_over_pages_with_its_header_again() -> None:
    from bot.catalog import Catalog, Item
    from bot.services.outcome import Tally, TallyRow

    catalog = Catalog(items=(Item("1", "葡萄", "盒", Decimal("29.90")),))
    rows = tuple(TallyRow(G1, f"u{n}", f"居民{n}", f"{n % 9 + 1}栋{n}01 居民{n}", "1", 1) for n in range(1, 81))
    tally = Tally("d", rows, {"1": 80}, Decimal(0), {(G1, f"u{n}", ""): n for n in range(1, 81)})
    points = sorting_list(household_views(tally, catalog, group_points={G1: ("东门",)}))
    texts = pages(sorting_pdf(points, title="大团", printed=datetime(2026, 11, 30, 7, 5)))
    assert len(texts) > 1
    assert all("跟团号" in t and f"第{n}页" in t for n, t in enumerate(texts, 1))
    assert sorted(n for t in texts for n in numbers_in(t)) == list(range(1, 81))


def test_tuan_pickup_writes_the_pdf(day: Day, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "分拣单.pdf"
    status, _, err = tuan(capsys, "pickup", "--deal", day.fruit, "-o", str(out), "--config", str(day.config_path))
    assert status == 0, err
    assert (out.stat().st_mode & 0o777) == 0o600
    east, south = pages(out.read_bytes())
    assert numbers_in(east) == SORTED_EAST and numbers_in(south) == SORTED_SOUTH
    assert "水果团" in east and m.PDF_POINT.format(point="南门", households=10, amount="423.00") in south
    text = tmp_path / "sort.txt"
    status, _, err = tuan(capsys, "pickup", "--deal", day.fruit, "--format", "text", "-o", str(text),
                          "--config", str(day.config_path))
    assert status == 0 and text.read_text().splitlines()[1] == m.SORT_POINT.format(point="东门", households=17,
                                                                                   amount="797.40")


async def test_pickup_pdf_in_the_chat_is_sent_privately_as_a_file() -> None:
    from adapters.base import Capabilities
    from tests.pipeline import LEADER, config_dict, make_pipeline

    data = config_dict()
    data["groups"][0]["pickup_points"] = ["东门", "西门"]
    caps = Capabilities(reactions=True, files=True, direct=True)
    p = await make_pipeline(caps, config=config_from_dict(data, "t.toml", env={}))
    p.core.clock = lambda: datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    for who, text in [("王姐", "3栋402 王姐 葡萄2"), ("阿强", "12栋101 阿强 鸡蛋1"), ("李姐", "李姐 5-1-302 葡萄1")]:
        await p.chat.push(text, sender=who)
    await p.chat.push("自提 西门", sender="阿强")
    p.chat.pop_all()
    await p.chat.push("/分拣 pdf", sender=LEADER)
    doc, said = p.chat.pop_all()
    assert said.text == m.SENT_PRIVATELY and doc.kind == "file" and doc.chat_id == sender_id_of(LEADER)
    assert doc.message_id.endswith(".pdf")  # the fake adapter records a file's name there, its caption as text
    assert doc.text == m.PICKUP_PDF_CAPTION.format(group="幸福里团购群", title="水果鸡蛋团")
    east, west = pages(doc.data)
    assert numbers_in(east) == [1, 3] and numbers_in(west) == [2]
    assert "打印于2026-11-30 08:30" in east and m.PDF_POINT.format(point="西门", households=1, amount="32.00") in west
    # privately, pdf is the command's word, not a group's name
    await p.chat.push("/pickup pdf", sender=LEADER, chat_id="dm", is_private=True)
    [doc] = p.chat.pop_all()
    assert doc.kind == "file" and numbers_in(pages(doc.data)[0]) == [1, 3]
    await p.close()
