"""WeChat's native 群接龙 message: parse its XML into numbered lines, each with its author.

A 群接龙 is an app message (msg type 49, ``<appmsg><type>53</type>``). ``<title>`` holds the
whole list as people see it: the header, then ``1. …``, ``2. …``. ``<extinfo><solitaire_info>``
holds (in a CDATA section) which account wrote which line::

    <solitaire><tt>0-86</tt><s>.</s><au>wxid_creator</au><hrt>1</hrt><loss>0</loss>
      <content><s>3</s>
        <i><u>wxid_a</u><h>0</h><s>.</s><t>1687786648</t><r>91-43</r></i> …
      </content></solitaire>

``<tt>``/``<ex>``/``<tl>`` (header, example, tail) and each line's ``<r>`` are ``start-length``
ranges of ``<title>`` counted in UTF-16 code units (WeChat's Java strings); a line whose text
is not in the title carries it in ``<c>`` instead. The range covers the content after the
line's number and separator (``<s>``, usually "."). ``<t>`` is when the line was written
(seconds). With ``<hrt>0</hrt>`` the first line is the creator's example, not an entry.

Pure functions of the message text; no I/O.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
_NUMBER = re.compile(r"^\s*(\d{1,4})\s*(\S?)\s*$")  # "12. " before a line's content


@dataclass(frozen=True, slots=True)
class SolitaireLine:
    number: int  # 1-based position in the list
    account: str  # who wrote it; "" when the message does not say
    content: str  # the line's text after "N. " (may span several lines)
    separator: str = "."
    ts: int | None = None  # when it was written, epoch seconds

    @property
    def text(self) -> str:
        """The line as it reads in the list: ``"3. 王姐 葡萄1"``."""
        return f"{self.number}{self.separator} {self.content}"


@dataclass(frozen=True, slots=True)
class Solitaire:
    title: str  # the whole list as text
    creator: str
    header: str
    lines: tuple[SolitaireLine, ...]

    @property
    def attributed(self) -> bool:
        """Every line names its author (so each can be delivered as that account's message)."""
        return bool(self.lines) and all(line.account for line in self.lines)


def _xml_start(text: str) -> int:
    for mark in ("<?xml", "<msg"):
        at = text.find(mark)
        if at >= 0:
            return at
    return -1


def _utf16_slice(text: str, spec: str | None) -> str | None:
    """``text[start:start+length]`` in UTF-16 code units; None when the range is absent or bad."""
    m = _RANGE.match(spec or "")
    if m is None:
        return None
    start, length = int(m.group(1)), int(m.group(2))
    units = text.encode("utf-16-le")
    if start + length > len(units) // 2:
        return None
    try:
        return units[2 * start: 2 * (start + length)].decode("utf-16-le")
    except UnicodeDecodeError:  # the range cuts a surrogate pair: not a range of this title
        return None


def _solitaire_element(info: ET.Element) -> ET.Element | None:
    inner = info.find("solitaire")
    if inner is not None:
        return inner
    body = (info.text or "").strip()
    if not body:
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    return root if root.tag == "solitaire" else root.find("solitaire")


def _mark_before(title: str, spec: str | None) -> tuple[int, str] | None:
    """The list number and separator written before a range on its line ("12." before the content)."""
    m = _RANGE.match(spec or "")
    if m is None:
        return None
    before = title.encode("utf-16-le")[: 2 * int(m.group(1))].decode("utf-16-le", errors="ignore")
    mark = _NUMBER.match(before.rsplit("\n", 1)[-1])
    return (int(mark.group(1)), mark.group(2)) if mark else None


def _int(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


APP_TYPE = "53"  # <appmsg><type>: WeChat's 群接龙


def parse_solitaire(text: str) -> Solitaire | None:
    """The 群接龙 in an app message's XML (possibly after a ``"wxid_…:\\n"`` prefix), or None.

    Only an ``<appmsg>`` of ``<type>53</type>`` is a 群接龙. Whether the message really is the
    platform's app message (not a text that merely contains such XML) is for the caller to know:
    see :func:`adapters.wechat.convert.native_solitaire`.
    """
    if "solitaire_info" not in text:
        return None
    start = _xml_start(text)
    if start < 0:
        return None
    try:
        msg = ET.fromstring(text[start:].strip())
    except ET.ParseError:
        return None
    appmsg = msg if msg.tag == "appmsg" else msg.find("appmsg")
    if appmsg is None or (appmsg.findtext("type") or "").strip() != APP_TYPE:
        return None
    title = appmsg.findtext("title") or ""
    info = appmsg.find("extinfo/solitaire_info")
    sol = _solitaire_element(info) if info is not None else None
    if sol is None:
        return None
    default_sep = (sol.findtext("s") or ".").strip() or "."
    skip_example = (sol.findtext("hrt") or "").strip() == "0"
    lines = []
    for position, item in enumerate(sol.findall("content/i"), start=1):
        if skip_example and position == 1:
            continue
        spec = item.findtext("r")
        content = _utf16_slice(title, spec)
        if content is None:
            content = item.findtext("c") or ""
        content = content.strip()
        if not content:
            continue
        number, sep = position, (item.findtext("s") or "").strip() or default_sep
        mark = _mark_before(title, spec)
        if mark is not None:  # as the list shows it
            number, sep = mark[0], mark[1] or sep
        lines.append(SolitaireLine(number=number, account=(item.findtext("u") or "").strip(), content=content,
                                   separator=sep, ts=_int(item.findtext("t"))))
    header = _utf16_slice(title, sol.findtext("tt"))
    if header is None:
        first = re.search(r"^\s*1\s*[.、]", title, re.M)
        header = title[: first.start()] if first else ""
    return Solitaire(title=title, creator=(sol.findtext("au") or "").strip(), header=header.strip(),
                     lines=tuple(lines))
