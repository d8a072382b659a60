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
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    WebDriverException,
)
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


def text_of_current(driver: webdriver.Chrome, selector: str) -> str:
    """The text of the element `selector` finds on the page there now; '' while the page that
    had it is being replaced. Chrome reports an element of a page just left either as stale or
    as "does not belong to the document", depending on when the lookup meets the navigation."""
    try:
        return driver.find_element(By.CSS_SELECTOR, selector).text
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return ""
        raise


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
    browser.find_element(By.CSS_SELECTOR, "#paste-form button[type=submit]").click()
    wait_for_results(browser)
    first = browser.find_element(By.CSS_SELECTOR, "article.match")
    assert first.get_attribute("data-issue") == "264630-1"


def test_without_javascript_the_plain_form_still_answers(server, tmp_path) -> None:  # noqa: F811
    driver = start_browser(tmp_path / "profile", javascript=False)
    try:
        driver.get(f"http://127.0.0.1:{server}/")
        # A paste that starts with a blank line: it keeps it when the page shows it again.
        driver.find_element(By.ID, "log").send_keys("\n" + SEED_LINES)
        driver.find_element(By.CSS_SELECTOR, "#paste-form button[type=submit]").click()
        wait_for_results(driver)
        first = driver.find_element(By.CSS_SELECTOR, "article.match")
        assert first.get_attribute("data-issue") == "264630-1"
        assert FIRST_STEP in first.text
        # The script would have moved the focus to the answer: it did not run.
        assert driver.switch_to.active_element.get_attribute("id") != "results"
        hits = [h.get_attribute("id") for h in driver.find_elements(By.CSS_SELECTOR, "li.hit")]
        assert hits == ["line-2", "line-3"]

        # The verdict is a form post: the page that comes back shows the same answer.
        first.find_element(By.CSS_SELECTOR, "button[value=yes]").click()
        # The status is read from whichever page is there: the one the click leaves may be
        # gone between finding its element and reading it.
        status = WebDriverWait(
            driver, 30, ignored_exceptions=(StaleElementReferenceException,)
        ).until(lambda d: text_of_current(d, "#match-1 .feedback-status"))
        assert "264630-1 is recorded as the answer" in status
        assert (
            driver.find_element(By.CSS_SELECTOR, "article.match").get_attribute("data-issue")
            == "264630-1"
        )
        again = [h.get_attribute("id") for h in driver.find_elements(By.CSS_SELECTOR, "li.hit")]
        assert again == hits
    finally:
        driver.quit()


WIDTHS = (360, 1280, 1920)
# A log line far wider than any window, without a space to break it at.
LONG_LINE = "Copying C:\\SMS\\" + "\\".join(f"folder{n:03d}" for n in range(200)) + "  CCIM32\n"


@pytest.fixture()
def page(browser, server):  # noqa: F811
    """The browser at the paste page, its viewport set by each test; reset afterwards."""
    browser.get(f"http://127.0.0.1:{server}/")
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def set_width(driver: webdriver.Chrome, width: int) -> None:
    """The viewport `width` CSS pixels wide, whatever the window around it is."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    )


def sideways_overflow(driver: webdriver.Chrome) -> int:
    """How many pixels the page is wider than its window (0: no horizontal scroll)."""
    return driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")


def answer(driver: webdriver.Chrome, paste: str) -> None:
    box = driver.find_element(By.ID, "log")
    # Set at once: typing thousands of characters key by key is slow.
    driver.execute_script("arguments[0].value = arguments[1]", box, paste)
    driver.find_element(By.CSS_SELECTOR, "#paste-form button[type=submit]").click()
    wait_for_results(driver)


def mark_page(driver: webdriver.Chrome) -> None:
    """Leave a mark on the loaded page: a navigation or a reload would wipe it."""
    driver.execute_script("window.stillThisPage = true")


def same_page(driver: webdriver.Chrome) -> bool:
    return driver.execute_script("return window.stillThisPage === true")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_page_fits_the_window_before_and_after_an_answer(page, server, width) -> None:  # noqa: F811
    set_width(page, width)
    page.get(f"http://127.0.0.1:{server}/")
    assert page.execute_script("return window.innerWidth") == width
    assert sideways_overflow(page) <= 0
    answer(page, SEED_LINES + LONG_LINE)
    assert sideways_overflow(page) <= 0
    # The long line is wrapped in the paste, every character of it still there.
    long_line = page.find_element(By.ID, "line-3")
    assert "folder199" in long_line.text and "miss" in long_line.get_attribute("class")
    matches = page.find_element(By.CSS_SELECTOR, ".answer .matches").rect
    paste = page.find_element(By.CSS_SELECTOR, ".answer .echo").rect
    if width < 900:
        # One column: the paste below the answer, as wide.
        assert paste["y"] >= matches["y"] + matches["height"]
        assert abs(paste["width"] - matches["width"]) <= 1
    else:
        # Side by side, the answer taking the larger share.
        assert paste["x"] >= matches["x"] + matches["width"]
        assert matches["width"] > paste["width"] > 300


def test_the_example_fills_the_box_and_is_answered(page) -> None:
    page.find_element(By.ID, "example").click()
    wait_for_results(page)
    example = (Path(__file__).parent.parent / "service" / "static" / "example.log").read_text()
    assert page.find_element(By.ID, "log").get_property("value") == example
    first = page.find_element(By.CSS_SELECTOR, "article.match")
    assert first.get_attribute("data-issue") == "264630-1"
    states = [
        li.get_attribute("class") for li in page.find_elements(By.CSS_SELECTOR, "ol.paste li")
    ]
    assert "hit" in states and "miss" in states
    # The lines that matched nothing say so without their colour: no issue tag.
    for line in page.find_elements(By.CSS_SELECTOR, "ol.paste li.miss"):
        assert "matched issue" not in line.text


def test_feedback_is_sent_without_leaving_the_answer(page) -> None:
    answer(page, SEED_LINES)
    url = page.current_url
    mark_page(page)
    page.find_element(By.CSS_SELECTOR, "#match-1 button[value=yes]").click()
    # The status says "Sending..." first; the server's answer replaces it.
    status = WebDriverWait(page, 30).until(
        lambda d: (
            (text := d.find_element(By.CSS_SELECTOR, "#match-1 .feedback-status").text)
            and not text.startswith("Sending")
            and text
        )
    )
    assert "264630-1 is recorded as the answer" in status
    assert same_page(page) and page.current_url == url
    assert page.find_element(By.CSS_SELECTOR, "#match-1").get_attribute("data-issue") == "264630-1"
    pressed = page.find_element(By.CSS_SELECTOR, "#match-1 button[value=yes]")
    assert pressed.get_attribute("aria-pressed") == "true"


def test_copy_for_a_ticket_puts_the_markdown_on_the_clipboard(page, server) -> None:  # noqa: F811
    page.execute_cdp_cmd(
        "Browser.grantPermissions",
        {
            "origin": f"http://127.0.0.1:{server}",
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
        },
    )
    answer(page, SEED_LINES)
    url = page.current_url
    mark_page(page)
    page.find_element(By.ID, "copy-answer").click()
    status = WebDriverWait(page, 10).until(lambda d: d.find_element(By.ID, "copy-status").text)
    assert status.startswith("Copied the answer as Markdown")
    markdown = page.find_element(By.ID, "answer-markdown").get_property("value")
    # The brief answer, for a ticket: the page shows the full one.
    assert markdown.startswith("_2 log record(s) read") and "**1. Copylog.tcf" in markdown
    assert "More: http" in markdown and "/issues/264630-1" in markdown
    copied = page.execute_async_script(
        "const done = arguments[0]; navigator.clipboard.readText().then(done, e => done(String(e)))"
    )
    assert copied == markdown
    assert same_page(page) and page.current_url == url
    assert page.find_element(By.CSS_SELECTOR, "#match-1").is_displayed()
    # How sure the match is and why, beside it.
    reason = page.find_element(By.CSS_SELECTOR, "#match-1 .reason")
    assert reason.is_displayed() and "matched" in reason.text


def test_without_a_clipboard_the_markdown_is_selected_for_copying(page) -> None:
    answer(page, SEED_LINES)
    mark_page(page)
    # As on a page served over plain http: no clipboard API.
    page.execute_script(
        "Object.defineProperty(navigator, 'clipboard', {value: undefined, configurable: true})"
    )
    page.find_element(By.ID, "copy-answer").click()
    status = WebDriverWait(page, 10).until(lambda d: d.find_element(By.ID, "copy-status").text)
    assert status.startswith(("Copied the answer", "The answer is selected below"))
    selected = page.execute_script(
        "const box = document.getElementById('answer-markdown');"
        "return [document.activeElement === box, box.selectionStart, box.selectionEnd,"
        " box.value.length, document.getElementById('ticket').open]"
    )
    assert selected[0] and selected[1] == 0 and selected[2] == selected[3] > 0 and selected[4]
    assert same_page(page) and page.find_element(By.CSS_SELECTOR, "#match-1").is_displayed()


def test_a_search_shows_articles_beside_the_answer(page) -> None:
    answer(page, SEED_LINES)
    mark_page(page)
    search = page.find_element(By.ID, "q")
    search.send_keys("copylog clicore", Keys.ENTER)
    hit = WebDriverWait(page, 30).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#search-results li a"))
    )
    assert hit.text.startswith("KB264630: ")
    assert page.find_elements(By.CSS_SELECTOR, "#search-results mark")
    assert same_page(page) and page.find_element(By.CSS_SELECTOR, "#match-1").is_displayed()


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
