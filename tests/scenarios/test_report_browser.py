"""The learning report opens in a real browser from a file, with no network: Chromium renders it
(tables and inline SVG charts), a screenshot is taken and checked, and it prints to PDF."""

from __future__ import annotations

import base64
import struct
from datetime import date

import pytest

from adapters.report import render_html
from adapters.sample_history import play_history, sample_people
from bot.calendar import WorkingCalendar
from bot.clock import ManualClock
from bot.core import EscalationBot
from bot.report import Period, build_report
from bot.storage import Storage
from fakes.browser import chromium
from support import london


@pytest.fixture
def browser(tmp_path):
    yield from chromium(tmp_path / "chromium-profile")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_the_report_renders_in_chromium_and_prints(tmp_path, policies, browser):
    from selenium.webdriver.common.by import By

    store = Storage.open(f"sqlite:///{tmp_path / 'history.db'}")
    store.upsert_people(sample_people())
    clock = ManualClock(london(2026, 1, 5, 9))
    bot = EscalationBot(store=store, policies=policies, clock=clock)
    play_history(bot, clock, count=120, first=london(2026, 1, 5, 9), last=london(2026, 6, 30, 17))
    report = build_report(
        store,
        policies.get("camden"),
        Period(date(2026, 1, 1), date(2026, 6, 30)),
        now=london(2026, 9, 1, 9),
        calendar=WorkingCalendar(),
    )
    store.close()
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")

    browser.set_window_size(1200, 900)
    browser.get(page.as_uri())
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Camden Safeguarding Children Partnership" in text
    assert "1 January 2026 to 30 June 2026" in text
    assert f"{report.raised}\nRaised" in text
    charts = browser.find_elements(By.CSS_SELECTOR, "svg")
    assert len(charts) >= 4
    assert all(chart.size["width"] > 200 and chart.size["height"] > 40 for chart in charts)

    shot = browser.get_screenshot_as_png()
    (tmp_path / "report.png").write_bytes(shot)
    width, height = png_size(shot)
    assert width >= 1000 and height >= 600
    assert len(shot) > 20_000  # a rendered page of text and charts, not a blank one

    pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})["data"])
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
