"""The print-ready sorting sheet (分拣单 PDF): one A4 page (or more, when long) per pickup point.

The data is the sorting list's (:func:`bot.leaderlists.sorting_list`): per pickup point, households
in walking order (building, unit, room), each with its 跟团号, label, who ordered, goods, amount,
paid, picked and refund marks and the 备注 (proxy note, pickup code). Drawn with reportlab and its
built-in CID font ``STSong-Light`` (Adobe's Chinese font pack, which PDF readers supply), so no font
file ships with Tuan. A household not yet picked up gets an empty box to tick on paper.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from bot import messages as m
from bot.export import paid_text
from bot.leaderlists import HouseholdView, PointList
from bot.render import money

FONT = "STSong-Light"
"""reportlab's CID font for Simplified Chinese (covers GB2312: 汉字, ¥, □, full-width punctuation)."""
COLUMN_WIDTHS_MM = (14, 34, 16, 34, 17, 22, 11, 17, 0)  # mm; the last column (备注) takes what is left
WRAPPED = frozenset({1, 2, 3, 8})  # label, who, goods, 备注 may be long: wrapped; the rest fit on one line


def _register() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _row(h: HouseholdView) -> list[str]:
    who = h.label or h.who
    return [f"#{h.number}", who, h.who, h.goods(), f"¥{money(h.amount)}", paid_text(h.marks),
            m.MARK_PICKED if h.marks.picked else m.PDF_NOT_PICKED,
            f"¥{money(h.marks.refund)}" if h.marks.refund else "", h.note()]


def sorting_pdf(points: Sequence[PointList], *, title: str, printed: datetime) -> bytes:
    """The sorting sheet as PDF bytes: per pickup point a heading (point, households, amount) and a
    table of :data:`bot.messages.PDF_COLUMNS` whose header repeats on each page; a new page for
    each point. ``printed``: the local time shown in each page's footer. An empty ``points`` gives
    one page with the title only."""
    _register()
    heading = ParagraphStyle("heading", fontName=FONT, fontSize=16, leading=20, spaceAfter=4)
    sub = ParagraphStyle("sub", fontName=FONT, fontSize=11, leading=14, spaceAfter=6)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=11, wordWrap="CJK")
    margin = 12 * mm
    width = A4[0] - 2 * margin
    widths = [w * mm for w in COLUMN_WIDTHS_MM[:-1]]
    widths.append(width - sum(widths))
    current = {"point": ""}

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.drawString(margin, 7 * mm, m.PDF_FOOTER.format(title=title, point=current["point"], page=doc.page,
                                                            printed=f"{printed:%Y-%m-%d %H:%M}"))
        canvas.restoreState()

    story: list[object] = []
    for n, p in enumerate(points):
        point = p.point or m.SORT_NO_POINT
        if n:
            story.append(PageBreak())
        story.append(_PointMark(current, point))  # before the page ends and its footer is drawn
        story.append(Paragraph(escape(m.PDF_TITLE.format(title=title)), heading))
        story.append(Paragraph(escape(m.PDF_POINT.format(point=point, households=len(p.households),
                                                         amount=money(p.amount))), sub))
        rows: list[list[object]] = [list(m.PDF_COLUMNS)]
        rows += [[Paragraph(escape(c), cell) if n in WRAPPED else c for n, c in enumerate(_row(h))]
                 for h in p.households]
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), FONT, 9),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]))
        story += [table, Spacer(1, 4 * mm)]
    if not points:
        story.append(Paragraph(escape(m.PDF_TITLE.format(title=title)), heading))
    out = io.BytesIO()
    doc = BaseDocTemplate(out, pagesize=A4, title=m.PDF_TITLE.format(title=title), author="Tuan")
    frame = Frame(margin, 14 * mm, width, A4[1] - margin - 14 * mm, leftPadding=0, rightPadding=0, topPadding=0,
                  bottomPadding=0)
    doc.addPageTemplates([PageTemplate("sheet", [frame], onPageEnd=footer)])
    doc.build(story)
    return out.getvalue()


class _PointMark(Flowable):  # type: ignore[misc]
    """Zero-size: when laid out, tells the page's footer (drawn as the page ends) which point it shows."""

    def __init__(self, state: dict[str, str], point: str) -> None:
        super().__init__()
        self.state, self.point = state, point

    def wrap(self, *_size: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.state["point"] = self.point
