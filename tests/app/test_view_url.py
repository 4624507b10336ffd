"""The operator's view in the URL: a link opens that view, changes write the URL, Back returns."""

from __future__ import annotations

import pytest

from layouts.view_url import query_from_view, view_from_query
from tests.app.conftest import open_page, serve, small_wall_config


def test_query_keeps_only_what_the_screen_offers():
    view = view_from_query(
        "?tab=signals&junction=7&horizon=3600&layers=crowd,evil&checkpoint=99&heat=5",
        junctions=[3, 7],
        checkpoints=[0, 1],
        layers=["roads", "crowd"],
    )
    assert view == {"tab": "signals", "junction": 7, "horizon": 3600, "layers": ["crowd"]}
    assert (
        view_from_query(
            "?tab=<script>&junction=-1&horizon=1e9", junctions=[1], checkpoints=[], layers=[]
        )
        == {}
    )


def test_view_query_keeps_other_parameters():
    query = query_from_view(
        "?kiosk=1&tab=alerts",
        {"tab": "signals", "junction": 7, "layers": ["a", "b"], "checkpoint": None},
    )
    assert query == "?kiosk=1&tab=signals&junction=7&layers=a,b"
    assert (
        query_from_view(
            "?tab=signals&layers=a", {"horizon": 3600, "layers": ["b"]}, ("horizon", "layers")
        )
        == "?tab=signals&horizon=3600&layers=b"
    )


@pytest.fixture(scope="module")
def small_wall():
    from app import create_app

    served = serve(create_app(small_wall_config()))
    yield served
    served.stop()


def test_a_link_opens_the_view_and_back_returns(small_wall, browser, artifacts):
    node = small_wall.app.server.extensions["venuetwin"].scene.signals[0]["i"]
    page, log = open_page(browser, small_wall.url + f"/?tab=signals&junction={node}&horizon=3600")
    page.wait_for_selector("#sig-pane:not([hidden])", timeout=180_000)
    page.wait_for_function(
        "document.querySelector('#sig-plan').innerText.includes('cycle')", timeout=180_000
    )
    assert page.locator("#wall-horizon input[value='3600']").is_checked()
    page.screenshot(path=str(artifacts / "view-url-signals-1080p.png"))
    page.click("#ops-tab label:has-text('Checkpoints')")
    page.wait_for_function("location.search.includes('tab=checkpoints')", timeout=180_000)
    assert f"junction={node}" in page.evaluate("location.search")  # the rest of the view stays
    page.go_back()
    page.wait_for_selector("#sig-pane:not([hidden])", timeout=180_000)
    assert "tab=signals" in page.evaluate("location.search")
    page.click("#wall-horizon label:has-text('+15')")  # the map's keys join the side panel's
    page.wait_for_function("location.search.includes('horizon=900')", timeout=180_000)
    assert "tab=signals" in page.evaluate("location.search")
    assert not log.foreign and not log.errors, log.errors


def test_the_read_only_map_keeps_its_layers_in_the_url(small_wall, browser):
    page, log = open_page(browser, small_wall.url + "/map?horizon=1800&layers=roads")
    page.wait_for_function(
        "document.querySelector(\"#wall-horizon input[value='1800']\").checked", timeout=180_000
    )
    assert not log.errors, log.errors
