"""The dashboard end to end in headless Chromium (Debian's ``chromium``, driven by Playwright for
Python with the system browser: no browser download). Without /usr/bin/chromium these tests fail,
they do not skip (README: the test command installs it).

An operator signs in, composes and publishes a deal, watches orders placed through the real order
service appear live (server-sent events, no reload) on the today page and the deal page, verifies
a pickup and downloads the XLSX; a leader of group A is refused group B's pages and API; a POST
without the CSRF token is refused; the sign-in rate limit holds. Screenshots of the main pages go
to tests/artifacts/ (not committed).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bot.usecases.platform_data import deal_catalog
from storage.platform import SqlPlatformStore
from tests.web_support import GA, GB, PASSWORDS, Served, World, world

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = {"width": 390, "height": 844}  # a phone's screen: leaders work from their phones


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[World, Served]]:
    w = world(tmp_path, orders=False)
    rows = SqlPlatformStore(w.repo.engine).load()
    w.deals[GB] = w.service.open_deal(deal_catalog(rows, [("grape", None)], title="B群团", cutoff=None), [GB],
                                      title="B群团", source="test")
    w.order(GB, "赵姨", "1栋101 赵姨 葡萄1")
    with Served(w) as served:
        yield w, served
    w.repo.close()


def sign_in(page: Page, url: str, who: str) -> None:
    page.goto(url + "/login")
    page.fill('input[name="name"]', who)
    page.fill('input[name="password"]', PASSWORDS[who])
    page.click('form#login button[type="submit"]')
    page.wait_for_url(url + "/")


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_operator_publishes_watches_orders_arrive_verifies_and_downloads(browser: Browser, site) -> None:  # type: ignore[no-untyped-def]
    w, served = site
    url = served.url
    ctx = browser.new_context(viewport=PHONE, accept_downloads=True)
    page = ctx.new_page()
    sign_in(page, url, "op")

    # compose: from the library, stock and cutoff, preview, publish to group A
    page.goto(url + "/compose")
    page.check(f'input[name="group"][value="{GA}"]')
    page.check("#pick-grape")
    page.fill('input[name="stock_grape"]', "30")
    page.check("#pick-egg")
    page.fill('input[name="title"]', "周末水果团")
    page.fill('input[name="cutoff"]', "2099-12-31T20:00")
    page.click('button[value="preview"]')
    expect(page.locator("#preview")).to_contain_text("1号 土鸡蛋")  # the library's order: egg, grape
    expect(page.locator("#preview")).to_contain_text("2号 阳光玫瑰葡萄 29.9元/盒(限量30)")
    shot(page, "compose")
    page.click('button[value="publish"]')
    page.wait_for_url(url + "/deals/*")
    expect(page.locator("#flash")).to_contain_text("已开团：周末水果团")
    deal_id = page.url.rsplit("/", 1)[1].split("?")[0]
    assert w.service.deal_of(GA).id == deal_id  # type: ignore[union-attr]

    # today: an order placed through the order service shows up live, without a reload
    page.goto(url + "/")
    card = page.locator(f'[data-chat="{GA}"]')
    expect(card.locator('[data-field="households"]')).to_have_text("0")
    expect(page.locator("body")).to_have_attribute("data-live", "on")
    page.evaluate("window.__notReloaded = true")
    w.order(GA, "王姐", "3栋402 王姐 葡萄2")
    expect(card.locator('[data-field="households"]')).to_have_text("1", timeout=10_000)
    expect(card.locator('[data-field="amount"]')).to_have_text("59.80")
    expect(card.locator('[data-left="2"]')).to_have_text("28")
    assert page.evaluate("window.__notReloaded") is True
    expect(card.locator(".cutoff")).to_contain_text("距截单")
    shot(page, "today")

    # the deal page: the households table follows the orders too
    page.goto(url + f"/deals/{deal_id}")
    expect(page.locator("body")).to_have_attribute("data-live", "on")
    page.evaluate("window.__notReloaded = true")
    w.order(GA, "李哥", "5栋101 李哥 鸡蛋1")
    expect(page.locator("#households")).to_contain_text("5栋101 李哥", timeout=10_000)
    expect(page.locator('#deal-live [data-field="households"]')).to_have_text("2")
    assert page.evaluate("window.__notReloaded") is True

    # verify a pickup (the same use case as /verify), then download the XLSX
    page.locator('tr[data-household="3栋402 王姐"] form[action*="/verify"] button').click()
    expect(page.locator("#flash")).to_contain_text("已核销 3栋402 王姐")
    expect(page.locator('tr[data-household="3栋402 王姐"]')).to_contain_text("已取 · op")
    shot(page, "deal")
    with page.expect_download() as got:
        page.click("#export-xlsx")
    wb = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))
    assert wb.sheetnames[:3] == ["订单明细", "备货单", "分拣单"]
    cells = [str(v) for row in wb["订单明细"].iter_rows(values_only=True) for v in row if v is not None]
    assert any("王姐" in c for c in cells) and any("李哥" in c for c in cells)
    assert not any("赵姨" in c for c in cells)  # group B's order is another round
    stock = [r for r in wb["备货单"].iter_rows(values_only=True) if r and r[0]]
    assert any("阳光玫瑰葡萄" in str(r[0]) and 2 in r for r in stock)
    assert [r["action"] for r in w.ctx.leader_day().audit(deal_id)] == ["publish", "verify"]

    for name, path in (("products", "/products"), ("schedules", "/schedules"), ("audit", "/audit")):
        page.goto(url + path)
        shot(page, name)
    expect(page.locator("#audit")).to_contain_text("verify")
    ctx.close()


def test_leader_of_a_is_refused_group_b_and_csrf_and_rate_limit(browser: Browser, site) -> None:  # type: ignore[no-untyped-def]
    w, served = site
    url = served.url
    b_deal = w.deals[GB]
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    sign_in(page, url, "leadera")
    expect(page.locator("#today")).not_to_contain_text("公园里B群")
    shot(page, "today-leader")
    for path in (f"/deals/{b_deal}", f"/deals/{b_deal}/export.xlsx", f"/deals/{b_deal}/households"):
        resp = page.goto(url + path)
        assert resp is not None and resp.status == 403, path
    expect(page.locator("#error")).to_contain_text("无权查看")
    for path in (f"/api/deals/{b_deal}", f"/events/deals/{b_deal}"):
        assert page.request.get(url + path).status == 403, path
    # a POST without the CSRF token, with the signed-in cookie, is refused and changes nothing
    r = page.request.post(url + f"/deals/{b_deal}/verify", form={"chat_key": GB, "sender_id": "u-赵姨"})
    assert r.status == 403
    page.goto(url + "/compose")
    r = page.request.post(url + "/compose", form={"group": GA, "pick": "grape", "action": "publish"})
    assert r.status == 403 and "页面已过期" in r.text()
    assert w.ctx.leader_day().audit(b_deal) == []
    ctx.close()

    # five wrong passwords, then even the right one is refused for a while
    ctx = browser.new_context()
    page = ctx.new_page()
    for _ in range(5):
        page.goto(url + "/login")
        page.fill('input[name="name"]', "leaderb")
        page.fill('input[name="password"]', "not-the-password")
        page.click('form#login button[type="submit"]')
        expect(page.locator("#error")).to_contain_text("账号或密码错误")
    page.fill('input[name="password"]', PASSWORDS["leaderb"])
    page.click('form#login button[type="submit"]')
    expect(page.locator("#error")).to_contain_text("登录失败次数过多")
    shot(page, "login-limited")
    ctx.close()


def test_operator_opens_settlement_purchase_orders_and_the_stats_chart(browser: Browser, site) -> None:  # type: ignore[no-untyped-def]
    """The report pages: the settlement XLSX downloaded and read (B's leader: 10% of 29.90), the
    purchase order of a delivery date, the statistics chart drawn by matplotlib loads as an image."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from bot.usecases.operators import edit_leader
    from bot.usecases.products import ItemSource, LibraryChanges, SupplierRow
    from storage.operators import SqlOperatorStore
    from storage.products import SqlLibraryStore, record_sources

    w, served = site
    url = served.url
    SqlOperatorStore(w.repo.engine).update(lambda rows: edit_leader(rows, "fake:lb", rate=Decimal("0.1")),
                                           actor=("test", "test"))
    SqlLibraryStore(w.repo.engine).update(lambda rows: LibraryChanges(
        suppliers=[SupplierRow("S1", "鲜果园", updated_at=datetime.now(UTC))]))
    record_sources(w.repo.engine, w.deals[GB], date(2026, 12, 1), [ItemSource("1", "grape", "", "盒", Decimal("20"), "S1")])
    opened = w.service.deal_of(GB)
    assert opened is not None
    # the day B's deal was opened, not "today": midnight in Shanghai may pass since the fixture made it
    day = opened.created_at.astimezone(w.config.bot.tz).date().isoformat()
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    sign_in(page, url, "op")

    page.click('nav a[href="/settle"]')
    page.fill('#settle-form input[name="from"]', day)
    page.fill('#settle-form input[name="to"]', day)
    page.click('#settle-form button[type="submit"]')
    expect(page.locator("#settle-leaders")).to_contain_text("fake:lb")
    expect(page.locator("#settle-leaders")).to_contain_text("¥2.99")
    shot(page, "settle")
    with page.expect_download() as got:
        page.click("#settle-xlsx")
    wb = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))
    line = next(r for r in wb["团长结算"].iter_rows(values_only=True) if r[0] == "fake:lb")
    assert (line[4], line[8], line[10]) == (pytest.approx(29.9), pytest.approx(2.99), pytest.approx(2.99))

    page.click('nav a[href="/purchase"]')
    page.fill('#purchase-form input[name="date"]', "2026-12-01")
    page.click('#purchase-form button[type="submit"]')
    expect(page.locator("#purchase-totals")).to_contain_text("鲜果园")
    expect(page.locator("#purchase-totals")).to_contain_text("¥20.00")
    expect(page.locator("#purchase-routes")).to_contain_text("公园里B群")
    shot(page, "purchase")

    page.goto(url + f"/stats?from={day}&to={day}")
    expect(page.locator("#stats-table")).to_contain_text("公园里B群")
    page.wait_for_function("document.querySelector('#stats-chart').complete")
    assert page.evaluate("document.querySelector('#stats-chart').naturalWidth") > 0
    shot(page, "stats")
    ctx.close()
