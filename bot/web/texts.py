"""Every word the web dashboard shows (Simplified Chinese), in one place."""

from __future__ import annotations

APP = "团购后台"
NAV = {"today": "今日", "products": "商品库", "compose": "开团", "stock": "备货单", "schedules": "定时任务",
       "audit": "操作记录", "purchase": "采购单", "settle": "结算", "stats": "统计"}
LOGIN = "登录"
LOGOUT = "退出"
NAME = "账号"
PASSWORD = "密码"
LOGIN_FAILED = "账号或密码错误"
LOGIN_LIMITED = "登录失败次数过多，请稍后再试"
CSRF_FAILED = "页面已过期，请刷新后重试"
FORBIDDEN = "无权查看：这不是您负责的团"
NOT_FOUND = "找不到这一期团购"
OPERATOR_ONLY = "只有平台运营可以这样做"
ROLE = {"operator": "运营", "leader": "团长"}

STATUS = {"open": "进行中", "closed": "已截单"}
NO_DEAL = "暂无团购"
CUTOFF_LEFT = "距截单"
NO_CUTOFF = "未设截单时间"
HOUSEHOLDS = "户数"
AMOUNT = "金额"
ORDERS = "下单"

RESULT = {
    "ok": "已完成",
    "none": "没有找到这户",
    "ambiguous": "找到多户，请说得更具体",
    "already": "这户已经核销过了",
    "late": "超过10分钟，不能撤销",
    "not_picked": "这户还没有核销",
    "bad_item": "没有这个商品",
    "too_many": "退款数量超过了购买数量",
    "bad_qty": "数量不对",
    "too_much": "退款金额超过了这件商品还剩的金额",
    "bad_amount": "金额不对",
    "open": "本期还在接龙，缺货请在截单、到货后再登记",
}
VERIFIED = "已核销 {label}（取货码 {code}）"
UNVERIFIED = "已撤销 {label} 的核销"
PAID = "已记录 {label} 付款 ¥{amount}"
REFUNDED = "已为 {label} 退款 ¥{amount}"
BAD_AMOUNT = "金额不对：{text}"
SHORT_SHARED_NOT_YOURS = "这一期和「{groups}」共用，缺货要由负责所有这些群的团长或运营登记"
SHORTED = "已记录缺货：{item} 到货 {delivered}（共订 {ordered}），{n} 户退款 ¥{amount}"

PUBLISHED = "已开团：{title}，团购卡片将发到 {groups}"
COPIED = "已复制上一期，新团购已发到 {groups}"
NO_GROUP_CHOSEN = "请至少选择一个群"
NO_PRODUCT_CHOSEN = "请至少选择一个商品"
STILL_OPEN = "{group} 还有进行中的团购，请先截单"
GROUP_RETIRED = "所选的群已停用，不能再开团"
PRODUCT_SAVED = "商品 {code} 已保存"

BAD_DATE = "{what}不对：{text}"
BAD_NUMBER = "{what}不对：{text}（须是整数）"
OUT_OF_YEARS = "{what}须在 {low} 年到 {high} 年之间：{text}"
OUT_OF_RANGE = "{what}须是 {low} 到 {high} 之间的整数：{text}"
BAD_TIME = "{what}不对：{text}（例如 2026-11-30 21:00）"
BAD_PERIOD = "结束日期早于开始日期"
YEARS_PERIOD = "日期须在 {first} 年到 {last} 年之间"
LONG_PERIOD = "时间段太长，最多 {days} 天"
NO_SUPPLIER = "没有这个供应商：{id}"
NO_SUPPLIER_NAME = "（未指定供应商）"
NO_LEADER_LINE = "这个账号没有对应的团长，看不到结算"
IMPORTED = "导入完成：{n} 处变更"
IMPORT_NOTHING = "导入完成：没有变更（{rows} 行）"
IMPORT_FAILED = "导入失败，没有写入任何商品"
IMPORT_NO_FILE = "请选择 XLSX 或 CSV 文件"
IMPORT_TOO_BIG = "文件太大（最多 {mb} MB）"
IMPORT_ROW = "第 {row} 行，{column}：{why}"
