"""Every chat-facing string, in Simplified Chinese. Tests assert on these constants.

Mentions are not part of the text: the core passes a :class:`bot.model.Mention` and each
adapter puts the ``@名字`` in front its own way.
"""

from __future__ import annotations

from bot import money
from bot.catalog import Catalog, Item
from bot.services import outcome as oc

ACK_EMOJI = "✅"

NOT_LEADER = "抱歉,这个命令只有团长或管理员可以用 🙏"
UNKNOWN_COMMAND = "没有 /{name} 这个命令,发 /help 看看能用哪些"
NO_DEAL = "本群现在没有进行中的团购"
EXPORT_NOTHING = "你带的群里现在没有团购可以导出"
NO_DEAL_CONFIGURED = "本群还没有配置团购商品,可以直接发一条带编号和价格的接龙帖开团"
DEAL_OPENED = "开团啦 🎉"
DEAL_RECOGNISED = "已按团长的接龙帖开团,共{n}样商品:{items}"
ALREADY_CLOSED = "本次团购已经截单了"
CLOSE_SHARED_NOT_YOURS = "这一期和「{groups}」共用,本群团长不能替别的群截单;请由管理所有这些群的团长(或平台)截单,或等预定的截单时间自动截单"
CLOSED = "⏹ 已截单,感谢大家支持!最终统计如下:"
LIST_EMPTY = "还没有人接龙"
# /help is generated from the command registry (bot/registry.py): a heading, then one line per command.
HELP_LEADER_HEAD = "团长命令(中文别名也可以用):"
HELP_RESIDENT_HEAD = "可用命令:"
HELP_LINE = "/{name}{aliases} {text}"
HELP_ALIASES = "(/{aliases})"
HELP_ALIAS_SEP = " /"
HELP_PRIVATE_NOTE = "私聊机器人时,命令作用于你带的群;带多个群时在命令后写群名,如「/tally 幸福里」"
HELP_DEAL = "发团购卡片(已截单时开新一期)"
HELP_LIST = "当前接龙名单"
HELP_TALLY = "统计数量和金额"
HELP_PICKUP = "分拣单(按自提点、楼栋房号,带跟团号;加 pdf 发可打印的 PDF,每个自提点一页)"
HELP_STOCK = "备货单(每样商品的数量和金额;私聊时合计你带的所有群)"
HELP_CLOSE = "截单并发最终统计"
HELP_EXPORT = "导出订单表格 XLSX(订单明细、备货单、分拣单;私聊机器人时导出你带的所有群)"
HELP_HELP = "看这条帮助"
HELP_HISTORY = "最近几期团购的户数和金额"
HELP_MY = "看自己在本期订了什么(也可以直接发「我的订单」或「查单」;取货码只私信发给您本人)"

# A resident's own order (/my, 我的订单, 查单).
MY_ORDER = "您在「{title}」{state}订了:{goods},共¥{amount}"
MY_NONE = "您在本期还没有订"
MY_EARLIER = "您在{round}(已截单,待取货)订了:{goods},共¥{amount}"
MY_NONE_ANYWHERE = "您在各群的本期团购里都还没有订"

# Lists with every household's phone and room go to the leader privately (/export, /pickup).
SENT_PRIVATELY = "已私信发给你"
PRIVATE_HOW = {
    "telegram": "这份清单含各户电话和房号,只私信发给团长。请先私聊我发一次 /start,再发 /{name}",
    "wechat": "这份清单含各户电话和房号,只私信发给团长。请先加我为好友,再发 /{name}",
}
PRIVATE_HOW_DEFAULT = "这份清单含各户电话和房号,只私信发给团长,请私聊我发 /{name}"

# Who may use what (bot/permissions.py decides).
PRIVATE_NO_GROUP = "你现在不是任何一个群的团长或管理员,私聊命令没有可以操作的群"
PICK_GROUP = "你带着{n}个群,请在命令后写上群名,比如「/{name} {example}」。你的群:{groups}"
UNKNOWN_GROUP = "你带的群里没有「{arg}」。你的群:{groups}"
DONE_IN_GROUP = "已在「{group}」执行 /{name}"
GROUP_HEADING = "【{group}】"
HELP_RESIDENT = "下单直接回复,比如「葡萄2」「1号2份 3号1份」,或复制接龙加上自己一行;改单发「葡萄改成3」,取消发「葡萄不要了」"

# Questions for unclear lines (sent mentioning the resident).
ASK_AMBIGUOUS = "您说的\"{word}\"是{options}?"
ASK_UNKNOWN_ITEM = "没找到\"{word}\",这次有:{items}。您要哪一样?"
ASK_NO_ITEM = "您要的是哪一样?这次有:{items}。比如回复「{example}」"
ASK_BAD_QTY = "\"{word}\"的数量没看懂,请写整数,比如「{example}」"
ASK_LARGE_QTY = "\"{word}\"的数量太大了,一次最多{limit}份,请确认一下要几份"
ASK_SAME_AS = "您要订什么、几份?请直接写出来,比如「{example}」"
ASK_TOO_LONG = "消息太长了,没法当作订单来读,请分开发或只写要订的,比如「{example}」"
ASK_OTHER = "\"{word}\"没看懂,能再说一下吗?"

# Reasons for refused lines.
REFUSED_AFTER_CUTOFF = "已截单,这单没能记上,下次早点哦"
REFUSED_SOLD_OUT = "{item} 已售罄,这单没能记上"
REFUSED_SOLD_OUT_LEFT = "{item} 只剩{left}{unit}了,这单没能记上,最多还能订{left}{unit}"  # some left, not as many
# a set (鸡蛋改成6) that the stock cannot cover: the most the resident's total can be set to
REFUSED_SOLD_OUT_SET = "{item} 只剩{left}{unit}了,这次没能改:您的{item}最多能改成{most}{unit}"
REFUSED_OVER_MAX = "{item} 每户限购{max_qty}{unit},这单没能记上"
# An edit or withdrawal would have given back what a change (改成, 减, 不要了) took away: it does not fit.
REFUSED_GIVE_BACK_SOLD_OUT = "{item} 已售罄,原来的数量加不回去了,仍按现在的数量算"
REFUSED_GIVE_BACK_OVER_MAX = "{item} 每户限购{max_qty}{unit},原来的数量加不回去了,仍按现在的数量算"
REFUSED_NO_DEAL = "本群现在没有进行中的团购,这单没能记上"
REFUSED_OTHER = "这单没能记上({reason})"

# A leader's deal post that opens no deal (bot/services/dealcheck.py), one line per bad item.
DEAL_BAD_PRICE = "开团没成功:「{line}」的价格{why},请改好后重新发接龙帖"
DEAL_GROUP_RETIRED = "开团没成功:本群已停止团购服务,不能再开新团(如需恢复,请联系运营)"
DEAL_REPEATED_ITEM = "开团没成功:「{line}」的编号或名称「{word}」和前面的商品重复了,请改好后重新发接龙帖"
PRICE_WHY = {
    money.NOT_A_NUMBER: "不是数字",
    money.NOT_FINITE: "不是有效的数字",
    money.NOT_POSITIVE: "要大于0",
    money.TOO_PRECISE: "最多到分(两位小数)",
    money.TOO_LARGE: "太大了",
}

# Button presses (a short toast on the pressed button).
PRESS_TOTAL = "{item} 已订{qty}{unit}"
PRESS_NONE_OF = "{item} 已取消"
PRESS_MINE = "您已订:{items}"
PRESS_MINE_EMPTY = "您还没有订"
PRESS_NOTHING_TO_CANCEL = "您还没有订{item},没有可以减的"
PRESS_UNKNOWN = "这个按钮用不了了,请用群里最新的团购卡片"  # forged or unknown button data: nothing changed
DEAL_ENDED = "这一期已结束"
CARD_ENDED = "⏹ 这一期已结束,按钮已失效"
BUTTON_ADD = "{item} +1"
BUTTON_SUB = "−1"
BUTTON_MINE = "我的订单"

# Rounds (/history): a round is named by its title and the day it opened, so rounds of a group differ.
ROUND_NAME = "{title} {month}月{day}日"
HISTORY_TITLE = "📜 最近{n}期团购:"
HISTORY_ROW = "{name} {state} {households}户 ¥{amount}"
HISTORY_OPEN = "进行中"
HISTORY_CLOSED = "已截单"
HISTORY_NONE = "本群还没有团购记录"
HISTORY_UNAVAILABLE = "现在查不了往期团购记录"

# Cards, lists and tables.
CARD_TITLE = "🛒 {title}"
CARD_STOCK = "(限量{stock})"
CARD_LEFT = "剩{left}"
CARD_ORDERED = "已订{qty}"
CARD_CUTOFF = "截单:{when}"
CARD_HOW = "接龙:回复「{example}」或复制接龙加上自己一行"
LIST_TITLE = "#接龙 {title}(共{n}户)"
TALLY_TITLE = "📊 {title} 统计{state}"
TALLY_STATE_CLOSED = "(已截单)"
TALLY_HEADER = ("编号", "商品", "数量", "金额")
TALLY_TOTAL = "合计 ¥{amount},共{households}户"
PICKUP_TITLE = "📦 {title} 取货清单(共{households}户)"
PICKUP_ROW = "#{number} {who}:{goods} ¥{amount}"

# After the cutoff: stocking list (备货单), sorting list (分拣单), exports (bot/leaderlists.py, bot/export.py).
STOCK_TITLE = "🧾 {title} 备货单"
STOCK_HEADER = ("商品", "规格", "数量", "金额")
STOCK_TOTAL = "合计{qty}件 ¥{amount},共{households}户"
STOCK_EMPTY = "还没有要备的货"
STOCK_DAY = "{month}月{day}日({deals}期团购)"
SORT_TITLE = "📦 {title} 分拣单(共{households}户)"
SORT_POINT = "📍 {point}({households}户 ¥{amount})"
SORT_NO_POINT = "未设自提点"
SORT_ROW = "#{number} {who}:{goods} ¥{amount}"
SORT_PROXY = "({who}代订)"
LIST_PROXY_NOTE = "{who}代订"
MARK_PAID = "已付"
MARK_PART_PAID = "部分付 ¥{amount}"
MARK_PICKED = "已取"
MARK_REFUND = "退¥{amount}"
# /my: the resident's 跟团号 after their order; a proxy household's number with its neighbour.
MY_NUMBER = ",跟团号 {numbers}"
MY_NUMBER_ONE = "#{number}"
MY_NUMBER_PROXY = "#{number}({who})"
# Export sheets and columns (XLSX and CSV).
SHEET_ORDERS = "订单明细"
SHEET_STOCK = "备货单"
SHEET_SORT = "分拣单"
EXPORT_COLUMNS = ("跟团号", "下单人", "标签/房号", "自提点", "商品", "规格", "数量", "单价", "金额", "付款", "核销",
                  "退款金额", "备注", "下单时间", "群")
STOCK_COLUMNS = ("商品", "规格", "数量", "单价", "金额")
SORT_COLUMNS = ("自提点", "跟团号", "标签/房号", "下单人", "商品", "金额", "付款", "核销", "退款金额", "备注", "群")
EXPORT_TOTAL = "合计"
# The print-ready sorting sheet (PDF, bot/sheet_pdf.py): a page per pickup point.
PDF_TITLE = "分拣单 · {title}"
PDF_POINT = "自提点:{point} 共{households}户 ¥{amount}"
PDF_COLUMNS = ("跟团号", "标签/房号", "下单人", "商品", "金额", "付款", "核销", "退款", "备注")
PDF_NOT_PICKED = "□"
PDF_FOOTER = "{title} {point} 第{page}页 打印于{printed}"
PICKUP_PDF_CAPTION = "{group} {title} 分拣单"

# Scheduled posts.
REMINDER_DEFAULT = "⏰ 还有一会儿就截单啦,还没接龙的邻居抓紧~"
REMINDER_COUNT = "目前已有{n}户接龙"
PICKUP_DEFAULT = "🚚 到货啦,请按清单来取货"


def item_short(item: Item) -> str:
    """The first alias, else the name: what residents call it (葡萄 for 阳光玫瑰葡萄 2斤装)."""
    return item.aliases[0] if item.aliases else item.name


def item_choices(catalog: Catalog) -> str:
    return "、".join(f"{i.code}号{item_short(i)}" for i in catalog.items)


def _options(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return "、".join(names[:-1]) + "还是" + names[-1]


def _example(catalog: Catalog) -> str:
    return f"{item_short(catalog.items[0])}2" if catalog.items else "葡萄2"


def problem_text(problem: oc.Problem, catalog: Catalog | None) -> str:
    """The question (unclear) or reason (refused) for one problem of a resident's message."""
    word = problem.detail
    item = catalog.by_code(problem.item_code) if catalog and problem.item_code else None
    item_name = item_short(item) if item else (word or "这样商品")
    choices = item_choices(catalog) if catalog else ""
    example = _example(catalog) if catalog else "葡萄2"
    match problem.code:
        case oc.AMBIGUOUS_ITEM:
            found = [catalog.by_code(c) for c in problem.candidates] if catalog else []
            names = list(dict.fromkeys(item_short(i) for i in found if i is not None))
            if len(names) < 2:
                return ASK_UNKNOWN_ITEM.format(word=word, items=choices)
            return ASK_AMBIGUOUS.format(word=word, options=_options(names))
        case oc.UNKNOWN_ITEM:
            return ASK_UNKNOWN_ITEM.format(word=word, items=choices)
        case oc.NO_ITEM:
            return ASK_NO_ITEM.format(items=choices, example=example)
        case oc.BAD_QTY:
            return ASK_BAD_QTY.format(word=word, example=example)
        case oc.LARGE_QTY:
            limit = catalog.max_line_qty if catalog else ""
            return ASK_LARGE_QTY.format(word=word, limit=limit)
        case oc.SAME_AS:
            return ASK_SAME_AS.format(example=example)
        case oc.TOO_LONG:
            return ASK_TOO_LONG.format(example=example)
        case oc.AFTER_CUTOFF | oc.DEAL_CLOSED:
            return REFUSED_AFTER_CUTOFF
        case oc.SOLD_OUT:
            if problem.give_back:
                return REFUSED_GIVE_BACK_SOLD_OUT.format(item=item_name)
            if problem.mode == "set" and problem.left > 0:
                return REFUSED_SOLD_OUT_SET.format(item=item_name, left=problem.left, most=problem.qty,
                                                   unit=(item.unit if item else "") or "份")
            if problem.left > 0:
                return REFUSED_SOLD_OUT_LEFT.format(item=item_name, left=problem.left, unit=(item.unit if item else "") or "份")
            return REFUSED_SOLD_OUT.format(item=item_name)
        case oc.OVER_MAX:
            max_qty = catalog.max_qty if catalog and catalog.max_qty else ""
            text = REFUSED_GIVE_BACK_OVER_MAX if problem.give_back else REFUSED_OVER_MAX
            return text.format(item=item_name, max_qty=max_qty, unit=item.unit if item else "")
        case oc.NO_DEAL:
            return REFUSED_NO_DEAL
        case oc.BAD_PRICE:
            return DEAL_BAD_PRICE.format(line=word, why=PRICE_WHY.get(problem.why, PRICE_WHY[money.NOT_A_NUMBER]))
        case oc.REPEATED_ITEM:
            return DEAL_REPEATED_ITEM.format(line=word, word=problem.why)
        case oc.GROUP_RETIRED:
            return DEAL_GROUP_RETIRED
    return ASK_OTHER.format(word=word) if word else REFUSED_OTHER.format(reason=problem.code)

# The console chat.
CONSOLE_BANNER = ("— {title} — 输入「名字: 内容」发言(如 王姐: 葡萄2;直接输入则以居民「邻居」发言),"
                  "团长: /help 看团长命令,Ctrl-D 退出")
CONSOLE_FIRST_SPEAKER = "邻居"  # who a plain line speaks as before anyone is named (a resident)
CONSOLE_FAILED = "(出错了,这条没记上:{error})"
CONSOLE_PRIVATE = "(私信)"
CONSOLE_PRIVATE_TO = "(私信给{name})"
CONSOLE_FILE = "📎 文件已保存:{path}"

# `tuan demo`.
DEMO_TITLE = "Tuan 演示:{title},一天的接龙和第二天的取货(加速{speed:g}倍)"
DEMO_NEXT_DAY = "—— 第二天下午:到货、核销、未取名单 ——"
DEMO_JOB = {"deal_card": "定时:发团购卡片", "reminder": "定时:截单提醒", "cutoff": "定时:截单",
            "pickup": "定时:取货通知"}
DEMO_DONE = "演示结束:{residents}位邻居,{messages}条消息,用时{seconds:.1f}秒。"
DEMO_MATCH = "最终统计与剧本一致 ✅"
DEMO_MISMATCH = "最终统计与剧本不一致 ❌"

# `tuan deal open` without --title: the round's title, with its date.
CLI_DEAL_TITLE = "{month}月{day}日团购"

# The leader's day after the cutoff (bot/pickup_commands.py, bot/settle_commands.py): verification, payments, after-sale.
HELP_VERIFY = "核销取货:/verify 取货码(私聊我发,取货码不给群里看到;也可 /verify #12 按跟团号)"
HELP_PICKED = "按房号、名字或跟团号核销:/picked 3栋402、/picked 王姐 或 /picked #12(也可回复居民的消息「已取」或 ✅)"
HELP_UNVERIFY = "撤销10分钟内的核销:/unverify [房号/名字/取货码/#跟团号](该户换发新取货码)"
HELP_UNPICKED = "还没取货的住户(按楼栋;私聊我发则附各户取货码)"
HELP_ARRIVED = "到货通知,提醒该自提点的住户来取:/arrived [自提点]"
HELP_PAID = "登记付款:/paid 王姐 [金额]"
HELP_UNPAID = "谁还没付款、还欠多少"
HELP_REFUND = "售后退款或补发:/refund 王姐 葡萄 1 坏果 [¥金额]"
HELP_SHORT = "供货缺货:/short 葡萄 25(实到25份,先下单先得,其余退款)"
HELP_ADD = "替邻居下单:/add 7栋301 张奶奶 葡萄2"
HELP_POINT = "选自提点:自提 东门"
GROUP_ONLY = "/{name} 请在团购群里发(它作用于发命令的那个群)"
VERIFY_USAGE = "请写上取货码,如「/verify 4821」"
PICKED_USAGE = "请写上房号、名字或跟团号,如「/picked 3栋402」或「/picked #12」"
# No pickup code in a group post: neighbours read the group, and a code shown there could be said
# by someone else at the pickup point (a verified code comes back to life on /unverify).
VERIFIED = "✅ 已核销:{who}(跟团号#{number})"
ALREADY_VERIFIED = "这一户已经核销过了:{when} 由{by}核销"
NO_HOUSEHOLD = "本期没有找到「{query}」这一户"
NO_HOUSEHOLD_REPLY = "这条消息的发送人在本期没有订单"
NO_CODE = "本期没有取货码为「{code}」的住户"
AMBIGUOUS_HOUSEHOLD = "「{query}」对应多户,请写得更具体些,或写跟团号(如「#{example}」):\n{candidates}"
CANDIDATE_LINE = "· {who}(跟团号#{number})"
UNVERIFIED = "↩️ 已撤销核销:{who}"
IN_ROUND = "({round})"  # a round (ROUND_NAME) named in an answer when a group works several
ROUND_HEADING = "— {round} —"
ROUND_CURRENT = "本期"  # the current round, when an earlier one has the same name
ROUND_CLOSED_AT = "{at}截单"
UNVERIFY_LATE = "超过10分钟了,不能撤销「{who}」的核销({when} 核销)"
UNVERIFY_NOTHING = "没有可以撤销的核销"
UNPICKED_TITLE = "📦 还有{n}户没取货:"
UNPICKED_REMINDER = "⏰ 昨天到的货还没取的邻居,请尽快来取~"
UNPICKED_NONE = "🎉 全部住户都已取货"
UNPICKED_BUILDING = "【{building}】"
UNPICKED_OTHER = "其他"
UNPICKED_BUILDING_OF = "{n}栋"
UNPICKED_ROW = "{at}{who} 跟团号#{number}"  # in the group: no pickup code
UNPICKED_ROW_CODE = "{who} 跟团号#{number} 取货码{code}"  # a leader's private /unpicked
ARRIVED_TITLE = "🚚 到货啦!请到「{point}」取货({n}户):"
ARRIVED_ANY = "🚚 到货啦!请到自提点取货({n}户):"
ARRIVED_ROW = "{at}{who}"
MENTION_AT = "@{name} "  # a roll-call row's mention (none for a proxy household)
ARRIVED_NOBODY = "「{point}」没有要取货的住户"
UNKNOWN_POINT = "没有「{point}」这个自提点。本群自提点:{points}"
NO_POINTS = "本群没有设置自提点"
POINT_CHOSEN = "好的,您的自提点是「{point}」"
PAID_USAGE = "请写上名字或房号,如「/paid 3栋402」或「/paid 3栋402 59.8」"
PAID_DONE = "💰 已登记 {who} 付款¥{amount}{state}"
PAID_STATE_SHORT = ",还差¥{due}"
BAD_AMOUNT = "金额「{word}」看不懂,请写数字,如 59.8"
UNPAID_TITLE = "💰 还有{n}户未付清,共¥{total}:"
UNPAID_ROW = "{who} 应付¥{owed} 已付¥{paid} 还差¥{due}"
UNPAID_NONE = "🎉 全部住户都已付清"
REFUND_USAGE = "格式:/refund 3栋402 葡萄 1 坏果(可在最后加 ¥金额;原因写「补发」则登记补发)"
REFUND_DONE = "已登记退款:{who} {item}×{qty} ¥{amount},原因:{reason}"
REPLACE_DONE = "已登记补发:{who} {item}×{qty},原因:{reason}"
REFUND_TOO_MANY = "{who} 的{item}最多还能退{left}份"
REFUND_TOO_MUCH = "{who} 的{item}最多还能退¥{left},金额超过了,请确认一下"
AMOUNT_REFUSED = "金额「{word}」{why},请改好后重发"
BAD_ITEM = "本期没有「{item}」这个商品"
BAD_QTY = "数量「{word}」看不懂,请写正整数"
SHORT_USAGE = "格式:/short 葡萄 25(实际到货数量)"
SHORT_SHARED_NOT_YOURS = "这一期和「{groups}」共用,缺货要由管理所有这些群的团长登记(或用 tuan short)"
SHORT_OPEN = "本期还在接龙,缺货请在截单(/close)、到货后再登记:截单前订单还会变"
SHORT_NONE = "{item} 订{ordered}份,到货{delivered}份,不缺货"
SHORT_TITLE = "⚠️ {item} 订了{ordered}份,只到货{delivered}份。按下单先后分配,以下住户缺货,已登记退款:"
SHORT_ROW = "{at}{who} 订{ordered}得{got} 缺{short} 退¥{amount}"
SHORT_TOTAL = "共退¥{amount},抱歉!"
ADD_USAGE = "格式:/add 7栋301 张奶奶 葡萄2"
ADD_NO_LABEL = "请在商品前写上邻居的房号或名字,如「/add 7栋301 张奶奶 葡萄2」"
ADD_DONE = "已替「{who}」下单:{goods}"
ADD_NOTHING = "没有记上:{why}"
MY_MARKS = "取货码{code},自提点:{point},{paid}{picked}"  # private chat only
MY_MARKS_GROUP = "自提点:{point},{paid}{picked}"  # in a group: the pickup code is never shown there
MY_NEIGHBOUR_CODE = "{who}:取货码{code}"  # private: a neighbour's household the resident ordered for
MY_CODE_SENT = "取货码已私信发给您(只给您本人看,取货时出示给团长)"
MY_CODE_HOW = {
    "telegram": "取货码只私信给您本人:请私聊我发 /my(第一次请先私聊我点「开始」)",
    "wechat": "取货码只私信给您本人:请加我为好友,私聊发 /my",
}
MY_CODE_HOW_DEFAULT = "取货码只私信给您本人:请私聊我发 /my"
MY_CODE_LINK = "取货码只私信给您本人:点 {link} 再点「开始」即可看到"
MY_PAID = "已付款"
MY_UNPAID = "未付款"
MY_PICKED = ",已取货"
MY_REFUNDED = ",已退¥{amount}"

# The 备注 column of the lists and exports: the household's pickup code (核销).
LIST_PICKUP_CODE = "取货码{code}"
