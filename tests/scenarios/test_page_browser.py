"""The secure page in a real browser: Debian's Chromium, headless, driven by Selenium through
Debian's chromedriver (its own version, so nothing is downloaded; Selenium is told its path).
Sam, on neither chat platform, opens the link in his email, adds a note and agrees; a forged and
an expired link are refused. Skipped only where no Chromium is installed, and never under CI."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest

from fakes.email_bot import EMAILS, LINK, running_email_bot, sam_raises_alex_proposes

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        message = "Chromium is not installed: apt-get install chromium chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the browser test, never skip it)")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


async def in_browser(call, *args):
    """Selenium blocks: run it beside the event loop that serves the page."""
    return await asyncio.to_thread(call, *args)


async def test_sam_opens_his_emailed_link_adds_a_note_and_agrees(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    async with running_email_bot(tmp_path) as mailbot:
        bot = mailbot.services.bot
        await sam_raises_alex_proposes(mailbot)
        link = LINK.findall(mailbot.mail.to(EMAILS["sam"])[-1].text)[0]

        def body() -> str:
            return browser.find_element(By.TAG_NAME, "body").text

        def shows(text: str) -> bool:
            """After a form is sent, the page that answers it (once it has loaded) says `text`."""
            from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
            from selenium.webdriver.support.ui import WebDriverWait

            ignored = (NoSuchElementException, StaleElementReferenceException)
            # A bound, not a timing: a page that never says it fails here instead of hanging.
            waiting = WebDriverWait(browser, 30, ignored_exceptions=ignored)
            return waiting.until(lambda _: text in body())

        await in_browser(browser.get, link)
        assert "Alex Morgan proposes that this difference is resolved." in body()

        def add_note() -> None:
            Select(browser.find_element(By.ID, "form")).select_by_visible_text("Meeting")
            browser.find_element(By.ID, "involved").send_keys("Alex Morgan")
            browser.find_element(By.ID, "discussed").send_keys("Met at the school; agreed a joint visit.")
            browser.find_element(By.ID, "outcome").send_keys("Visit on Thursday.")
            browser.find_element(By.XPATH, "//button[text()='Record the note']").click()

        await in_browser(add_note)
        assert await in_browser(shows, "Your note is recorded.")
        note = bot.load("E-0001").notes[-1]
        assert (note.author, note.form, note.involved) == ("sam", "Meeting", "Alex Morgan")
        assert note.discussed == "Met at the school; agreed a joint visit."

        await in_browser(lambda: browser.find_element(By.XPATH, "//button[@value='agree']").click())
        assert await in_browser(shows, "Recorded: you agreed it is resolved.")
        assert bot.load("E-0001").status == "resolved"
        assert bot.load("E-0001").events[-1].actor == "sam"

        # The address bar never changed origin, and no page asked for a script.
        assert browser.current_url.startswith(f"{mailbot.base}/p/")
        before = len(bot.load("E-0001").events)
        forged = link[:-6] + ("BBBBBB" if link.endswith("AAAAAA") else "AAAAAA")
        await in_browser(browser.get, forged)
        assert "This link is not valid" in await in_browser(body)

        mailbot.clock.advance(timedelta(days=15))
        await in_browser(browser.get, link)
        text = await in_browser(body)
        assert "This link has expired." in text and "Send me a new link" in text
        assert len(bot.load("E-0001").events) == before
