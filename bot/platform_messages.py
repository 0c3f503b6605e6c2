"""What the platform's settlement, statistics and /earnings show people (Simplified Chinese)."""

from __future__ import annotations

SETTLE_COLUMNS = ("团长ID", "团长", "上级", "所带群", "销售额", "退款", "净销售额", "佣金比例", "佣金", "下级分成", "应付")
SETTLE_TOTAL = "合计"
SETTLE_KEPT = "平台留存"
SETTLE_GROUP_COLUMNS = ("群ID", "群名", "团长", "期数", "订单数", "销售额", "退款", "净销售额")
SHEET_SETTLE = "团长结算"
SHEET_SETTLE_GROUPS = "分群汇总"
SETTLE_MONEY_COLUMNS = {"销售额", "退款", "净销售额", "佣金", "下级分成", "应付"}

STATS_COLUMNS = ("日期", "群", "订单数", "户数", "金额", "回头客")

HELP_EARNINGS = "/earnings 我的收益(本月佣金与下级分成,私聊发送)"
EARNINGS_PRIVATE_ONLY = "收益只在私聊里查看,请私聊我发送 /earnings"
EARNINGS_NOT_LEADER = "只有团长可以查看收益"
EARNINGS_NO_STORE = "现在查不到收益,请稍后再试"
EARNINGS = ("💰 {name} 的收益({start} 至 {end})\n"
            "销售额 ¥{sales},退款 ¥{refunds},净销售额 ¥{net}\n"
            "佣金({rate})¥{commission}\n"
            "下级分成 ¥{share}\n"
            "应得合计 ¥{due}")
EARNINGS_NO_RATE = "未设比例"

HELP_SETTLEMENT = "/settlement 本月平台结算汇总(仅平台运营,私聊发送)"
SETTLEMENT_OPERATOR_ONLY = "只有平台运营可以查看平台结算"
SETTLEMENT_PRIVATE_ONLY = "平台结算只在私聊里查看,请私聊我发送 /settlement"
SETTLEMENT_TITLE = "📊 平台结算({start} 至 {end})"
SETTLEMENT_LINE = "{name}:净销售额 ¥{net},佣金 ¥{commission},下级分成 ¥{share},应付 ¥{due}"
SETTLEMENT_TOTAL = ("合计:销售额 ¥{sales},退款 ¥{refunds},净销售额 ¥{net}\n"
                    "应付团长 ¥{due}(佣金 ¥{commission} + 下级分成 ¥{share}),平台留存 ¥{kept}")
