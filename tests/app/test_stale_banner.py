"""The stale-data banner (ISA-101): when the twin stops publishing, every page says since when,
in a real browser; it goes away when frames come again."""

from __future__ import annotations

import threading

import pytest

from tests.app.conftest import open_page, serve, small_wall_config


@pytest.fixture
def small_room():
    from app import create_app

    served = serve(create_app(small_wall_config()))
    yield served
    served.stop()


def test_banner_appears_when_the_loop_stops_and_goes_when_it_runs(small_room, browser, artifacts):
    live = small_room.app.server.extensions["venuetwin"].live
    page, log = open_page(browser, small_room.url + "/")
    banner = page.locator("#stale-banner")
    assert banner.is_hidden()
    gate = threading.Event()
    try:
        live.call(lambda engine: gate.wait(300))  # the loop thread stops until released below
        banner.wait_for(state="visible", timeout=180_000)
        text = banner.inner_text()
        assert text.startswith("Twin not updating since ") and "figures are old" in text
        page.screenshot(path=str(artifacts / "stale_banner_1920.png"))
        page.set_viewport_size({"width": 3840, "height": 2160})
        page.screenshot(path=str(artifacts / "stale_banner_3840.png"))
        page.wait_for_function("1", timeout=1000)  # the watchdog counts the stall too (10 s)
        for _ in range(300):
            if live.health()["stalls"] == 1:
                break
            page.wait_for_timeout(100)
    finally:
        gate.set()
    banner.wait_for(state="hidden", timeout=180_000)
    assert live.health()["stalls"] == 1
    assert not log.foreign
