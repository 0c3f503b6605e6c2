"""What the platform adds around a resident's words is not theirs (§3.7).

- A WeChat quote (引用) arrives as ``「王姐：葡萄2」``, a rule line of dashes, then the reply:
  only the reply is the sender's.
- Platform notices (拍一拍, joins, withdrawals, group renames, red packets and transfers) are
  never orders, whatever the nickname in them holds.
- An ``@name`` mention, up to the space (or U+2005, a space after NFKC) after it, is an address.

Every pattern here is anchored or bounded, so its cost is linear in the text.
"""

from __future__ import annotations

import re

# 「王姐：葡萄2」 then a rule of 3+ dashes on its own line, then the reply. A quote may quote a
# quote: the reply is after the last such rule.
_QUOTE_END = re.compile(r"」[ \t]*\n[ \t]*-(?:[ \t]*-){2,}[ \t]*(?:\n|\Z)")
# A rule of dashes with the quote below it (some clients put the reply first).
_QUOTE_AFTER = re.compile(r"\n[ \t]*-(?:[ \t]*-){2,}[ \t]*\n\s*「[^」\n]*」\s*\Z")

_NOTICE_MAX = 300  # notices are one short line; a long message is someone's writing
_NOTICES = re.compile(
    r"拍了拍"
    r"|加入了?群聊|移出了?群聊|退出了?群聊"
    r"|撤回了一条消息"
    r"|修改群名为|修改了群名|成为新群主"
    r"|\[红包\]|收到红包|领取了.{0,60}红包|红包已被领完|发出了?(?:一个)?红包|的红包$"
    r"|\[转账\]|向你转账|转账给你|收到转账|已收款|确认收款|发起了?(?:一笔)?转账"
    r"|与群里其他人都不是(?:微信)?朋友关系|现在可以开始聊天了|以上是打招呼的内容"
)
# A mention: @ then the name up to the first space (WeChat puts U+2005 there). Not inside an
# address such as a@b.com.
_MENTION = re.compile(r"(?<![A-Za-z0-9._%+\-])@[^\s@]*")


def is_notice(raw: str) -> bool:
    """True when ``raw`` (the message text, before normalising) is a platform notice (§3.7)."""
    text = raw.strip()
    if not text or len(text) > _NOTICE_MAX or "\n" in text:
        return False
    return _NOTICES.search(text) is not None


def strip_quote(text: str) -> str:
    """The reply part of a message that quotes another one (normalised text in, same out)."""
    if "「" not in text:
        return text
    if text.lstrip().startswith("「"):
        last = None
        for m in _QUOTE_END.finditer(text):
            last = m
        if last is not None:
            return text[last.end():]
    after = _QUOTE_AFTER.search(text)
    if after is not None:
        return text[: after.start()]
    return text


def strip_mentions(text: str) -> str:
    """``text`` with every ``@name`` address replaced by a space."""
    return _MENTION.sub(" ", text) if "@" in text else text


def residents_words(text: str) -> str:
    """The resident's own words of a normalised message: quote and mentions taken out."""
    return strip_mentions(strip_quote(text))
