"""The secure page in a real browser (fakes/browser.py: Debian's Chromium, headless, through
Selenium). Sam, on neither chat platform, opens the link in his email, adds a note and agrees; a
forged and an expired link are refused. Skipped only where no Chromium is installed, never under CI."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from fakes.browser import chromium
from fakes.email_bot import EMAILS, LINK, running_email_bot, sam_raises_alex_proposes


@pytest.fixture
def browser(tmp_path):
    yield from chromium(tmp_path / "chromium-profile")


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
