"""Work orders in the panel, in a real headless Chromium against the whole server and the simulator.

An agent answers a simulated call and writes it up as it goes (each change saved as a draft),
reloads the page half-way (nothing is lost: what was not sent yet is in localStorage and goes
when the page is back), and submits it as a complaint to the cards department. The handler of
that department (1003 in the default configuration, ``workorders.departments``) sees it arrive
in the task bar, accepts, starts, logs a step and completes it (a stale version on the way is
refused and shown); the agent sees the callback waiting, records the customer's satisfaction and
closes it. The status colour and the history are checked at each step, and text is never markup.

Then the faults: edits made while the server cannot be reached are kept ("saved locally, will
send"), survive a reload and are sent once it can; a change made elsewhere meanwhile is shown
beside the agent's text, which is kept; a work order without a call (a letter) is created,
written up and closed as resolved. And deadlines: the task bar turns amber, then red.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from pbxsim.scripts import CallerScript, Phone
from tests.conftest import running, stack_config
from tests.support.browser import WAIT_MS
from tests.support.panel import PanelClient
from tests.support.tcpproxy import TcpProxy

pytestmark = pytest.mark.browser

# A request that would run script if it were ever put in the page as markup.
REQUEST = 'Charged twice for one transfer <img src=x onerror="window.__pwned=1"> & <b>refund</b>'
SAVED = "Saved · 已保存"


async def server_copy(page: Page, ref: str) -> dict:
    """The work order as the server has it, asked with the page's own session."""
    return await page.evaluate("""async (ref) => {
        const r = await fetch('/api/workorders/' + encodeURIComponent(ref));
        return (await r.json()).workorder;
    }""", ref)


class PushGate:
    """Between a page and the server's push socket: ``hold()`` keeps what the server pushes from the
    page (as if it were late), ``release()`` delivers it, in order."""

    def __init__(self) -> None:
        self.page_side: Any = None
        self.held: list[Any] | None = None

    def hold(self) -> None:
        self.held = []

    def release(self) -> None:
        held, self.held = self.held or [], None
        for m in held:
            self.page_side.send(m)

    async def route(self, ws: Any) -> None:
        server = ws.connect_to_server()
        self.page_side = ws

        def from_server(message: Any) -> None:
            if self.held is not None:
                self.held.append(message)
            else:
                ws.send(message)

        server.on_message(from_server)


async def open_panel(browser: Any, url: str, login: str, gate: PushGate | None = None, width: int = 400) -> Page:
    """A fresh browser context signed in as ``login`` (its pushes through ``gate`` when given)."""
    context = await browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    if gate is not None:
        await page.route_web_socket(re.compile(r"/ws$"), gate.route)
    await page.goto(url)
    await page.get_by_label("Login · 工号").fill(login)
    await page.get_by_label("Password · 密码").fill(login)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who-login")).to_have_text(login)
    return page


def task(page: Page, ref: str) -> Any:
    return page.locator(f'#task-list li[data-ref="{ref}"] button.task')


def history(page: Page) -> Any:
    return page.locator("#wd-history li")


async def act(page: Page, action: str, comment: str | None = None, **fields: str) -> None:
    """Take a lifecycle action from the detail card: its button, its inputs, confirm."""
    await page.locator(f'#wd-actions button[data-action="{action}"]').click()
    await expect(page.locator("#wd-form")).to_be_visible()
    for name, value in fields.items():
        node = page.locator(f"#wd-{name}")
        if await node.evaluate("n => n.tagName") == "SELECT":
            await node.select_option(value)
        else:
            await node.fill(value)
    if comment is not None:
        await page.locator("#wd-comment").fill(comment)
    await page.locator("#wd-confirm").click()


async def test_a_complaint_from_the_call_to_closing_in_the_panels(stack: Any, browser: Any, artifacts: Path) -> None:
    agent = await open_panel(browser, stack.url, "1001")
    await agent.locator("#btn-signin").click()
    await expect(agent.locator("#state-badge")).to_have_text("Ready", timeout=WAIT_MS)
    gate = PushGate()
    handler = await open_panel(browser, stack.url, "1003", gate)  # handles cards (and audit) by default
    await expect(handler.locator("#tasks")).to_be_visible()
    await expect(handler.locator("#tasks-count")).to_have_text("0", timeout=WAIT_MS)

    stack.sim.set_phone("1001", Phone(answer_after=0.3))
    call = await stack.sim.place_call(CallerScript(number="13800138000", name="Zhang Wei", dtmf=((1.0, "1"),)))
    await expect(agent.locator("#state-badge")).to_have_text("On call", timeout=WAIT_MS)

    # During the call the write-up opens on the call's work order, a grey draft.
    form = agent.locator("#writeup")
    await expect(form).to_be_visible(timeout=WAIT_MS)
    ref = (await agent.locator("#pop-ref").text_content() or "").strip()
    assert ref.startswith("WO-")
    await expect(agent.locator("#wu-ref")).to_have_text(ref)
    await expect(agent.locator("#wu-colour")).to_have_attribute("data-colour", "grey")
    await expect(agent.locator("#wu-who")).to_contain_text("13800138000")
    status = agent.locator("#wu-status")
    await agent.get_by_label("Category · 分类").select_option("complaint")
    subs = await agent.locator("#wu-subcategory option").evaluate_all("os => os.map(o => o.value)")
    assert subs == ["", "service", "fees", "waiting", "fault", "other"]  # the configured tree
    await agent.get_by_label("Sub-category · 子类").select_option("fees")
    await agent.get_by_label("Urgency · 紧急程度").select_option("high")
    await agent.get_by_label("Summary · 摘要").fill("Charged twice")
    await agent.get_by_label("Customer's request · 客户诉求").fill(REQUEST)
    await expect(status).to_have_text(SAVED, timeout=WAIT_MS)
    wo = await server_copy(agent, ref)
    assert (wo["category"], wo["subcategory"], wo["urgency"], wo["request"]) == ("complaint", "fees", "high", REQUEST)

    # Reload half-way: the answer typed an instant before is in localStorage, not yet on the server.
    await agent.get_by_label("Answer given · 答复内容").fill("We will look into the second charge.")
    await agent.reload()
    await expect(agent.locator("#who-login")).to_have_text("1001", timeout=WAIT_MS)
    await expect(form).to_be_visible(timeout=WAIT_MS)
    await expect(agent.locator("#wu-ref")).to_have_text(ref)
    await expect(agent.get_by_label("Answer given · 答复内容")).to_have_value("We will look into the second charge.")
    await expect(agent.get_by_label("Customer's request · 客户诉求")).to_have_value(REQUEST)
    await expect(agent.get_by_label("Sub-category · 子类")).to_have_value("fees")
    await expect(status).to_have_text(SAVED, timeout=WAIT_MS)
    assert (await server_copy(agent, ref))["answer"] == "We will look into the second charge."

    await agent.get_by_label("Notes · 备注").fill("line one\nline two")
    await agent.get_by_label("Department · 处理部门").select_option("cards")
    await expect(agent.locator("#wu-submit")).to_have_text("Submit to Cards · 银行卡部 · 提交")
    await expect(status).to_have_text(SAVED, timeout=WAIT_MS)
    await agent.screenshot(path=str(artifacts / "panel_workorder_form.png"), full_page=True)

    # The caller hangs up: in wrap-up the form stays, and is submitted to the department.
    call.channel.request_hangup(16)
    await expect(agent.locator("#state-badge")).to_have_text("Wrap-up", timeout=WAIT_MS)
    await expect(form).to_be_visible()
    await agent.locator("#wu-submit").click()
    await expect(agent.locator("#wu-done")).to_have_text(f"{ref}: submitted to Cards · 银行卡部 · 已提交", timeout=WAIT_MS)
    await expect(form).to_be_hidden()

    # The handler's task bar gets it live: orange, for the department, with the counts.
    item = task(handler, ref)
    await expect(item).to_be_visible(timeout=WAIT_MS)
    await expect(handler.locator("#tasks-count")).to_have_text("1")
    await expect(handler.locator("#task-counts")).to_contain_text("For your department · 部门待办 1")
    await expect(item).to_have_attribute("data-colour", "orange")
    await expect(item).to_contain_text("Complaint / Fees: Charged twice")
    await expect(item.locator(".task-due")).to_contain_text("due ")
    await handler.screenshot(path=str(artifacts / "panel_workorder_taskbar.png"), full_page=True)
    await item.click()
    detail = handler.locator("#wo-detail")
    await expect(detail).to_be_visible()
    await expect(handler.locator("#wd-ref")).to_have_text(ref)
    await expect(handler.locator("#wd-status")).to_have_text("Submitted · 已提交")
    await expect(handler.locator("#wd-colour")).to_have_attribute("data-colour", "orange")
    await expect(handler.locator("#wd-facts")).to_contain_text(REQUEST)  # as text, never as markup
    await expect(handler.locator("#wd-facts")).to_contain_text("line one\nline two")
    assert await handler.locator("#wd-facts img").count() == 0
    assert await handler.evaluate("window.__pwned") is None
    actions = handler.locator("#wd-actions button")
    await expect(actions).to_have_text(["Accept · 受理", "Add a note · 备注"])
    await expect(history(handler).last).to_contain_text("Submitted · 提交")

    await act(handler, "accept")
    await expect(handler.locator("#wd-status")).to_have_text("Accepted · 已受理", timeout=WAIT_MS)
    await expect(handler.locator("#wd-colour")).to_have_attribute("data-colour", "orange")
    await expect(actions).to_have_text(["Assign · 交办", "Start · 开始处理", "Add a note · 备注"])
    await act(handler, "start")
    await expect(handler.locator("#wd-status")).to_have_text("In progress · 处理中", timeout=WAIT_MS)
    await expect(handler.locator("#wd-facts")).to_contain_text("Assignee · 经办人1003")
    # No Defer: a complaint is not a category that may be deferred (the server's allowed_actions say so).
    await expect(actions).to_have_text(["Assign · 交办", "Log a step · 记录进展", "Complete · 完成", "Add a note · 备注"])
    await act(handler, "log", "Asked the card centre for the statement.")
    await expect(history(handler).last).to_contain_text("Asked the card centre for the statement.", timeout=WAIT_MS)
    await expect(history(handler).last).to_contain_text("Log a step · 记录进展")

    # The page asks for what the lifecycle needs before sending; the server's refusals are shown too.
    await act(handler, "complete")
    await expect(handler.locator("#wd-error")).to_contain_text("The answer · 处理结果 is needed")
    gate.hold()  # the handler's pushes are late: the page does not know of the next change yet
    other = PanelClient(stack.url)  # the agent, elsewhere, adds a remark meanwhile: a newer version
    try:
        await other.login("1001")
        version = (await server_copy(handler, ref))["version"]
        status_, body = await other.post(f"/api/workorders/{ref}/note",
                                         {"version": version, "comment": "Customer phoned again."})
        assert status_ == 200, body
    finally:
        await other.close()
    await handler.locator("#wd-comment").fill("The second charge is refunded.")
    await handler.locator("#wd-confirm").click()
    await expect(handler.locator("#wd-error")).to_contain_text("Someone changed it meanwhile", timeout=WAIT_MS)
    await expect(handler.locator("#wd-error")).to_contain_text("(version)")
    await expect(history(handler).last).to_contain_text("Customer phoned again.")  # the newer copy is shown
    await expect(handler.locator("#wd-comment")).to_have_value("The second charge is refunded.")  # kept
    await expect(handler.locator("#wd-status")).to_have_text("In progress · 处理中")
    gate.release()
    await handler.locator("#wd-confirm").click()
    await expect(handler.locator("#wd-status")).to_have_text("Completed · 已完成", timeout=WAIT_MS)
    await expect(handler.locator("#wd-error")).to_be_hidden()
    await expect(actions).to_have_text(["Add a note · 备注"])  # the callback is the call center's
    await expect(handler.locator("#tasks-count")).to_have_text("0", timeout=WAIT_MS)

    # The agent sees the callback waiting, records it and closes the work order.
    item = task(agent, ref)
    await expect(item).to_be_visible(timeout=WAIT_MS)
    await expect(agent.locator("#task-counts")).to_contain_text("Callbacks due · 待回访 1")
    await expect(item).to_have_attribute("data-colour", "orange")
    await item.click()
    await expect(agent.locator("#wd-status")).to_have_text("Completed · 已完成")
    await expect(agent.locator("#wd-facts")).to_contain_text("The second charge is refunded.")
    await expect(agent.locator("#wd-actions button")).to_have_text(["Callback · 回访", "Withdraw · 撤诉", "Add a note · 备注"])
    await act(agent, "callback", "Thanks, all good.")
    await expect(agent.locator("#wd-error")).to_contain_text("Choose the customer's satisfaction")
    await agent.locator("#wd-satisfaction").select_option("satisfied")
    await agent.locator("#wd-confirm").click()
    await expect(agent.locator("#wd-status")).to_have_text("Called back · 已回访", timeout=WAIT_MS)
    await act(agent, "close")
    await expect(agent.locator("#wd-status")).to_have_text("Closed · 已关闭", timeout=WAIT_MS)
    await expect(agent.locator("#wd-colour")).to_have_attribute("data-colour", "black")
    await expect(agent.locator("#wd-colour")).to_have_text("Closed · 已结")
    await expect(agent.locator("#wd-due")).to_have_text("")
    await expect(agent.locator("#tasks-count")).to_have_text("0", timeout=WAIT_MS)
    whats = await history(agent).locator(".h-what").all_text_contents()
    assert whats == ["Saved · 保存"] * whats.count("Saved · 保存") + [
        "Submitted · 提交", "Accept · 受理", "Start · 开始处理", "Log a step · 记录进展", "Add a note · 备注",
        "Complete · 完成", "Callback · 回访", "Close · 关闭"]
    assert whats.count("Saved · 保存") >= 3  # saved as it was written, more than once
    changes = await history(agent).locator(".h-change").all_text_contents()
    assert changes == ["Draft · 草稿 → Submitted · 已提交", "Submitted · 已提交 → Accepted · 已受理",
                       "Accepted · 已受理 → In progress · 处理中", "In progress · 处理中 → Completed · 已完成",
                       "Completed · 已完成 → Called back · 已回访", "Called back · 已回访 → Closed · 已关闭"]
    await expect(history(agent).nth(len(whats) - 2)).to_contain_text("Satisfied · 满意")
    await agent.screenshot(path=str(artifacts / "panel_workorder_closed.png"), full_page=True)

    # A supervisor opens it by its reference and reactivates it, with a reason: back to the department.
    boss = await open_panel(browser, stack.url, "1900", width=1280)
    await boss.get_by_label("Work order reference · 工单号").fill(ref.lower())
    await boss.locator("#wo-find-open").click()
    await expect(boss.locator("#wd-ref")).to_have_text(ref, timeout=WAIT_MS)
    await expect(boss.locator("#wd-actions button")).to_have_text(["Reactivate · 激活", "Add a note · 备注"])
    await act(boss, "reactivate")
    await expect(boss.locator("#wd-error")).to_contain_text("Why it is reactivated · 激活原因 is needed")
    await boss.locator("#wd-comment").fill("The customer was charged a third time.")
    await boss.locator("#wd-confirm").click()
    await expect(boss.locator("#wd-status")).to_have_text("Submitted · 已提交", timeout=WAIT_MS)
    await expect(boss.locator("#wd-colour")).to_have_attribute("data-colour", "orange")
    await expect(history(boss).last).to_contain_text("Reactivate · 激活")
    await expect(history(boss).last).to_contain_text("The customer was charged a third time.")
    await expect(task(handler, ref)).to_be_visible(timeout=WAIT_MS)  # the department has it again, live
    await expect(handler.locator("#tasks-count")).to_have_text("1")
    assert agent.js_errors == [] and handler.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]


async def test_edits_kept_while_the_server_cannot_be_reached_and_a_change_made_elsewhere(
        stack: Any, browser: Any, artifacts: Path) -> None:
    gate = PushGate()
    page = await open_panel(browser, stack.url, "1001", gate)
    status = page.locator("#wu-status")

    # A letter: a work order without a call, linked to the customer by their number.
    await page.locator("#wo-new").click()
    await page.get_by_label("Came in by · 来源").select_option("letter")
    await page.get_by_label("Customer no. · 客户号").fill("C9999")
    await page.locator("#wo-new-create").click()
    await expect(page.locator("#wo-new-error")).to_contain_text("no customer C9999 (customer_no)", timeout=WAIT_MS)
    await page.get_by_label("Customer no. · 客户号").fill("C0002")
    await page.locator("#wo-new-create").click()
    await expect(page.locator("#writeup")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#wo-new-form")).to_be_hidden()
    await expect(page.locator("#wu-who")).to_have_text("Letter · 信函 · 李强 · C0002")
    ref = (await page.locator("#wu-ref").text_content() or "").strip()
    await page.locator("#wu-hide").click()  # folded away for a moment, and back
    await expect(page.locator("#writeup")).to_be_hidden()
    await expect(page.locator("#wu-folded")).to_contain_text(f"{ref}: draft folded away")
    await page.locator("#wu-unfold").click()
    await expect(page.locator("#writeup")).to_be_visible()
    await page.get_by_label("Category · 分类").select_option("consultation")
    await page.get_by_label("Sub-category · 子类").select_option("card")
    await page.get_by_label("Customer's request · 客户诉求").fill("How do I activate my new card?")
    await expect(status).to_have_text(SAVED, timeout=WAIT_MS)

    # The server refuses a value: the reason and the field are said, the text stays in the form.
    await page.get_by_label("Notes · 备注").fill("a bell \x07 in the letter")
    await expect(status).to_have_text(re.compile(r"^Not saved: notes must not contain control characters .*\(notes\)"),
                                      timeout=WAIT_MS)
    await expect(page.get_by_label("Notes · 备注")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Notes · 备注")).to_have_value("a bell \x07 in the letter")

    # The network drops: what is typed is kept in the browser, also across a reload, and sent later.
    await page.route("**/api/workorders/*/draft", lambda route: route.abort("internetdisconnected"))
    await page.get_by_label("Notes · 备注").fill("Written from abroad.")
    await expect(status).to_contain_text("Saved locally, will send · 本地已存", timeout=WAIT_MS)
    await expect(page.get_by_label("Notes · 备注")).to_have_attribute("aria-invalid", "false")
    await page.screenshot(path=str(artifacts / "panel_workorder_offline.png"), full_page=True)
    await page.reload()
    await expect(page.locator("#wu-ref")).to_have_text(ref, timeout=WAIT_MS)
    await expect(page.get_by_label("Notes · 备注")).to_have_value("Written from abroad.")
    await expect(status).to_contain_text("Saved locally, will send · 本地已存", timeout=WAIT_MS)
    assert (await server_copy(page, ref))["notes"] is None
    await page.unroute("**/api/workorders/*/draft")
    await expect(status).to_have_text(SAVED, timeout=WAIT_MS)  # tried again on its own
    assert (await server_copy(page, ref))["notes"] == "Written from abroad."

    # Changed elsewhere meanwhile (this page hears of it late): the save is refused as stale, the
    # newer copy is shown under the agent's text, which is kept until the agent chooses.
    gate.hold()
    other = PanelClient(stack.url)
    try:
        await other.login("1001")
        version = (await server_copy(page, ref))["version"]
        code, body = await other.post(f"/api/workorders/{ref}/draft", {
            "version": version, "request": "Activation of a card received by post", "urgency": "high"})
        assert code == 200, body
    finally:
        await other.close()
    request = page.get_by_label("Customer's request · 客户诉求")
    await request.fill("How do I activate my new card? It came by post.")
    await expect(status).to_contain_text("Changed elsewhere meanwhile", timeout=WAIT_MS)
    await expect(request).to_have_value("How do I activate my new card? It came by post.")
    theirs = page.locator('.wu-theirs[data-field="request"]')
    await expect(theirs).to_contain_text("Newer copy · 新版本: Activation of a card received by post")
    await expect(page.get_by_label("Urgency · 紧急程度")).to_have_value("high")  # untouched here: follows the newer copy
    await page.screenshot(path=str(artifacts / "panel_workorder_conflict.png"), full_page=True)
    await page.locator("#wu-keep").click()
    await expect(status).to_have_text(SAVED, timeout=WAIT_MS)
    await expect(theirs).to_have_count(0)
    wo = await server_copy(page, ref)
    assert (wo["request"], wo["urgency"]) == ("How do I activate my new card? It came by post.", "high")
    gate.release()

    # Resolved without passing it on: closed at once.
    await page.get_by_label("Resolved on the call · 已解决 (closes it)").check()
    await expect(page.locator("#wu-submit")).to_have_text("Close as resolved · 已解决并关闭")
    await page.locator("#wu-submit").click()
    await expect(page.locator("#wu-done")).to_have_text(f"{ref}: closed as resolved on the call · 已解决关闭",
                                                        timeout=WAIT_MS)
    assert (await server_copy(page, ref))["status"] == "closed"
    await page.reload()  # nothing left over: the form stays closed
    await expect(page.locator("#tasks")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#writeup")).to_be_hidden()
    assert await page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('cti.wo.edits.'))") == []
    assert page.js_errors == []  # type: ignore[attr-defined]


@pytest.fixture
async def overdue_stack(db_dsn: str, tmp_path: Path) -> AsyncIterator[Any]:
    """The ``stack`` with a complaint's forwarding step due 20 s of clock time after it is submitted."""
    cfg = stack_config(db_dsn, tmp_path, **{
        "workorders.deadlines": ("complaint.forward=0.33min clock", "complaint.answer=3d"),
        "workorders.amber_fraction": 0.5, "workorders.overdue_scan_seconds": 1.0})
    async with running(cfg) as s:
        await s.core.link_ready.wait()
        yield s


async def test_the_task_bar_turns_amber_then_red_as_work_falls_due(overdue_stack: Any, browser: Any,
                                                                   artifacts: Path) -> None:
    stack = overdue_stack
    handler = await open_panel(browser, stack.url, "1003")
    boss = await open_panel(browser, stack.url, "1900", width=1280)
    agent = PanelClient(stack.url)
    try:
        await agent.login("1001")
        code, body = await agent.post("/api/workorders", {
            "channel": "email", "caller_number": "13900139000", "category": "complaint", "subcategory": "waiting",
            "request": "Nobody answers", "summary": "Nobody answers", "department": "cards"})
        assert code == 201, body
        ref = body["workorder"]["ref"]
        code, body = await agent.post(f"/api/workorders/{ref}/submit", {"version": 1, "resolved": False})
        assert code == 200, body
    finally:
        await agent.close()
    item = task(handler, ref)
    await expect(item).to_have_attribute("data-colour", "orange", timeout=WAIT_MS)
    await expect(item.locator(".wo-chip")).to_have_text("On time · 按时")

    # Amber comes with time, not with a push: the page asks again (here at once, by Refresh).
    async def refreshed_until(colour: str) -> None:
        for _ in range(40):
            await handler.locator("#tasks-refresh").click()
            if await item.get_attribute("data-colour") == colour:
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"{ref} never turned {colour}")

    await refreshed_until("amber")
    await expect(item.locator(".wo-chip")).to_have_text("Due soon · 即将到期")
    await handler.screenshot(path=str(artifacts / "panel_workorder_amber.png"), full_page=True)

    # Red once due: on the page's clock at once, and by the server's overdue push.
    await expect(item).to_have_attribute("data-colour", "red", timeout=WAIT_MS)
    await expect(item.locator(".task-due")).to_contain_text("overdue by")
    late = boss.locator(f'#overdue-list li[data-ref="{ref}"] button.task')
    await expect(late).to_have_attribute("data-colour", "red", timeout=WAIT_MS)  # the supervisor's overdue list
    await expect(boss.locator("#overdue-total")).to_have_text("(1)")
    await late.click()
    await expect(boss.locator("#wd-colour")).to_have_text("Overdue · 已超时")
    # A supervisor may accept it and assign it (the desk's work), not start it (the department's).
    await expect(boss.locator("#wd-actions button")).to_have_text(["Accept · 受理", "Withdraw · 撤诉", "Add a note · 备注"])
    await boss.screenshot(path=str(artifacts / "panel_workorder_overdue.png"), full_page=True)
    await act(boss, "accept")
    await expect(boss.locator("#wd-status")).to_have_text("Accepted · 已受理", timeout=WAIT_MS)
    await act(boss, "assign", "Please call the customer today.", assignee="nobody")
    await expect(boss.locator("#wd-error")).to_contain_text("no account 'nobody' to assign it to (assignee)",
                                                          timeout=WAIT_MS)
    await boss.locator("#wd-assignee").fill("1003")
    await boss.locator("#wd-confirm").click()
    await expect(boss.locator("#wd-status")).to_have_text("Assigned · 已交办", timeout=WAIT_MS)
    await expect(history(boss).last).to_contain_text("assigned to 1003")
    await expect(history(boss).last).to_contain_text("Please call the customer today.")
    await expect(handler.locator("#task-counts")).to_contain_text("Assigned to you · 指派给我 1", timeout=WAIT_MS)
    await expect(item.locator(".task-why")).to_have_text("Assigned to you · 指派给我")
    await item.click()
    await expect(handler.locator("#wd-actions button")).to_have_text(
        ["Assign · 交办", "Start · 开始处理", "Add a note · 备注"])
    assert handler.js_errors == [] and boss.js_errors == []  # type: ignore[attr-defined]


@pytest.fixture
async def pg_proxy(db_dsn: str) -> AsyncIterator[TcpProxy]:
    """PostgreSQL behind a TCP proxy the test can take down (refusing and cutting) and bring back."""
    parts = urlsplit(db_dsn)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.stop()


async def test_while_postgresql_is_away_the_write_up_is_kept_in_the_journal(
        db_dsn: str, pg_proxy: TcpProxy, tmp_path: Path, browser: Any, artifacts: Path) -> None:
    parts = urlsplit(db_dsn)
    via_proxy = parts._replace(netloc=f"{parts.username}@127.0.0.1:{pg_proxy.port}").geturl()
    async with running(stack_config(via_proxy, tmp_path)) as stack:
        await stack.core.link_ready.wait()
        page = await open_panel(browser, stack.url, "1001")
        status = page.locator("#wu-status")
        await page.locator("#wo-new").click()
        await page.get_by_label("Came in by · 来源").select_option("walk_in")
        await page.get_by_label("or phone number · 或电话").fill("13600136000")
        await page.locator("#wo-new-create").click()
        await expect(page.locator("#wu-who")).to_have_text("Walk-in · 来访 · 13600136000 赵敏 · C0004", timeout=WAIT_MS)  # found by number
        ref = (await page.locator("#wu-ref").text_content() or "").strip()
        await page.get_by_label("Customer's request · 客户诉求").fill("Wants a paper statement.")
        await expect(status).to_have_text(SAVED, timeout=WAIT_MS)

        await pg_proxy.stop()  # PostgreSQL goes away
        await page.get_by_label("Notes · 备注").fill("Came in person with ID.")
        await expect(status).to_have_text(re.compile(r"^Saved · 已保存 — in the server's journal"), timeout=WAIT_MS)
        await expect(page.locator("#banner")).to_contain_text("Database down", timeout=WAIT_MS)
        await page.screenshot(path=str(artifacts / "panel_workorder_journal.png"), full_page=True)
        await page.reload()  # the server answers from what it holds
        await expect(page.locator("#wu-ref")).to_have_text(ref, timeout=WAIT_MS)
        await expect(page.get_by_label("Notes · 备注")).to_have_value("Came in person with ID.")

        await pg_proxy.start()  # back: the journal is written
        await expect(page.locator("#banner")).to_be_hidden(timeout=30_000)

        async def in_database() -> dict:
            while True:
                wo = await server_copy(page, ref)
                if wo.get("history"):
                    return wo
                await asyncio.sleep(0.2)

        wo = await asyncio.wait_for(in_database(), 30)
        assert (wo["request"], wo["notes"]) == ("Wants a paper statement.", "Came in person with ID.")
        assert page.js_errors == []  # type: ignore[attr-defined]
