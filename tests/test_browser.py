"""The paste page end to end: headless Chromium against `kb serve` (gunicorn) on 127.0.0.1.

Needs Debian's chromium and chromium-driver (`.ci/run` installs them). Without them the tests
are skipped, unless KB_REQUIRE_BROWSER is set, as CI does, where a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_serve import SEED_LINES, server  # noqa: F401 - `server` is the gunicorn fixture

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    message = (
        "Debian's chromium and chromium-driver are needed: apt-get install chromium chromium-driver"
    )
    if os.environ.get("KB_REQUIRE_BROWSER"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ISSUE_1_TITLE = (
    "Copylog.tcf rewritten by an SP1 site leaves clients in a mixed SP1/SP2 installation"
)
FIRST_STEP = "Edit the Copylog.tcf file on the primary domain controller"


def start_browser(profile: Path, javascript: bool = True) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # No sandbox as root; no background networking, which this machine's closed network refuses.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    browser = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    browser.set_page_load_timeout(30)
    return browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    driver = start_browser(tmp_path_factory.mktemp("chromium"))
    yield driver
    driver.quit()


def wait_for_results(driver: webdriver.Chrome) -> None:
    WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.ID, "results")))


def test_pasting_the_seed_lines_shows_issue_1_first_with_its_steps(browser, server) -> None:  # noqa: F811
    base = f"http://127.0.0.1:{server}"
    browser.get(base + "/")
    box = browser.find_element(By.ID, "log")
    # The box has the focus on arrival: a keyboard user pastes at once.
    assert browser.switch_to.active_element == box
    box.send_keys(SEED_LINES)
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    wait_for_results(browser)

    first = browser.find_element(By.CSS_SELECTOR, "article.match")
    assert first.get_attribute("data-issue") == "264630-1"
    assert ISSUE_1_TITLE in first.find_element(By.TAG_NAME, "h3").text
    steps = [li.text for li in first.find_elements(By.CSS_SELECTOR, "ol.steps > li")]
    assert steps and steps[0].startswith(FIRST_STEP)
    assert first.find_elements(By.CSS_SELECTOR, "p.warning")
    # Both pasted lines are highlighted in the paste, tagged with the issue they matched.
    hits = browser.find_elements(By.CSS_SELECTOR, "ol.paste li.hit")
    assert [h.get_attribute("id") for h in hits] == ["line-1", "line-2"]
    assert "matched issue 1" in hits[0].text
    # The answer takes the focus, and the full article is one link away.
    assert browser.switch_to.active_element.get_attribute("id") == "results"
    first.find_element(By.LINK_TEXT, "KB264630").click()
    assert "KB264630: SMS 2.0 SP1 and SP2" in browser.find_element(By.TAG_NAME, "h1").text


def test_every_asset_comes_from_the_service_itself(browser, server) -> None:  # noqa: F811
    base = f"http://127.0.0.1:{server}"
    browser.get(base + "/")
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert base + "/static/paste.js" in resources
    assert all(name.startswith(base) for name in resources)


def test_a_chosen_log_file_is_read_into_the_box(browser, server, tmp_path) -> None:  # noqa: F811
    log_file = tmp_path / "Ccim32.log"
    # UTF-16 with a byte order mark, as Windows tools write it.
    log_file.write_bytes(SEED_LINES.replace("\n", "\r\n").encode("utf-16"))
    browser.get(f"http://127.0.0.1:{server}/")
    browser.find_element(By.ID, "logfile").send_keys(str(log_file))
    box = browser.find_element(By.ID, "log")
    WebDriverWait(browser, 10).until(lambda d: "Trying to open IPC" in box.get_property("value"))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_results(browser)
    first = browser.find_element(By.CSS_SELECTOR, "article.match")
    assert first.get_attribute("data-issue") == "264630-1"


def test_the_fix_it_button_records_feedback(browser, server) -> None:  # noqa: F811
    browser.get(f"http://127.0.0.1:{server}/")
    browser.find_element(By.ID, "log").send_keys(SEED_LINES)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_results(browser)
    browser.find_element(By.CSS_SELECTOR, "article.match button[value=yes]").click()
    status = WebDriverWait(browser, 30).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[role=status]"))
    )
    assert "264630-1 is recorded as the answer" in status.text


def test_without_javascript_the_plain_form_still_answers(server, tmp_path) -> None:  # noqa: F811
    driver = start_browser(tmp_path / "profile", javascript=False)
    try:
        driver.get(f"http://127.0.0.1:{server}/")
        driver.find_element(By.ID, "log").send_keys(SEED_LINES)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for_results(driver)
        first = driver.find_element(By.CSS_SELECTOR, "article.match")
        assert first.get_attribute("data-issue") == "264630-1"
        assert FIRST_STEP in first.text
        # The script would have moved the focus to the answer: it did not run.
        assert driver.switch_to.active_element.get_attribute("id") != "results"
    finally:
        driver.quit()


@pytest.mark.parametrize(
    ("path", "heading", "text"),
    [
        ("/articles/264630", "KB264630: SMS 2.0 SP1 and SP2", FIRST_STEP),
        ("/issues/264630-1", ISSUE_1_TITLE, FIRST_STEP),
    ],
)
def test_record_pages_fit_a_phone_without_sideways_scrolling(
    browser,
    server,  # noqa: F811
    path: str,
    heading: str,
    text: str,
) -> None:
    # A 360 px wide phone screen, as the page's viewport meta tag lets phones show it.
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True},
    )
    try:
        browser.get(f"http://127.0.0.1:{server}{path}")
        assert heading in browser.find_element(By.TAG_NAME, "h1").text
        assert text in browser.find_element(By.TAG_NAME, "main").text
        width, page_width = browser.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]"
        )
        assert width == 360
        assert page_width <= width
        # Log lines wrap inside their own box rather than widening it.
        overflowing = browser.execute_script(
            "return [...document.querySelectorAll('.logline')]"
            ".filter(e => e.scrollWidth > e.clientWidth).length"
        )
        assert overflowing == 0
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
