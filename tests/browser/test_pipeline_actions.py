"""The operator on the 数据管道 page, in headless Chromium under the app's CSP: roll back, then run the pipeline."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import signed_in_context
from tests.cockpit.serving import serving
from tests.cockpit.test_pipeline_actions import NEW_DAY, copy_home, two_releases  # noqa: F401 (a fixture)
from warehouse.releases import current_release, list_releases


def test_an_operator_rolls_back_and_runs_the_pipeline_from_the_page(browser, base_url, app, two_releases, tmp_path):  # noqa: F811
    home = copy_home(two_releases, tmp_path / "home")
    older, newer = [r.run_id for r in list_releases(home)]
    context = signed_in_context(browser, base_url, app, bypass_csp=False, name="operator", role="operator")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        with serving(home):
            page.goto(f"{base_url}/pipeline")
            expect(page.locator("#pipeline-release")).to_contain_text(newer)

            page.get_by_role("button", name="回滚到上一版本").click()
            dialog = page.locator("#pipeline-rollback-plan")
            expect(dialog).to_contain_text(older)
            expect(dialog).to_contain_text(NEW_DAY.isoformat())
            page.get_by_role("button", name="确认回滚").click()
            expect(page.locator("#pipeline-action-message")).to_contain_text(f"当前版本为 {older}")
            expect(page.locator("#pipeline-release")).to_contain_text(older)  # the tables are drawn again
            expect(page.locator("#pipeline-rejected")).to_contain_text(NEW_DAY.isoformat())
            assert current_release(home).stem == older
            expect(page.locator("#pipeline-rollback-modal")).to_have_count(0)  # drawing new buttons opens nothing

            # And forward again, from the newer release's row.
            page.locator("tr", has_text=newer).get_by_role("button", name="回滚到此版本").click()
            expect(page.locator("#pipeline-rollback-plan")).to_contain_text(newer)
            page.get_by_role("button", name="确认回滚").click()
            expect(page.locator("#pipeline-release")).to_contain_text(newer)
            expect(page.locator("#pipeline-rejected")).to_contain_text("无")
            assert current_release(home).stem == newer

            page.get_by_role("button", name="立即运行管道").click()
            expect(page.locator("#pipeline-action-message")).to_contain_text("开始运行")
            expect(page.locator("#pipeline-run-start")).to_be_disabled()
            expect(page.locator("#pipeline-run-status")).to_contain_text("退出码 0", timeout=300_000)
            expect(page.locator("#pipeline-run-start")).to_be_enabled()
    finally:
        context.close()
    assert errors == []
