"""The report and the leaderboard page in headless Chromium, opened from file://."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse


def _ids_in_table(page) -> list[str]:
    return page.eval_on_selector_all(
        "#items tbody tr:not([hidden])", "rows => rows.map(r => r.cells[0].textContent.trim())"
    )


def _column(page, key: str) -> list[float]:
    """The values of the item table column ``key`` in row order (NaN for blanks)."""
    return page.evaluate(
        """key => {
          const heads = Array.from(document.querySelectorAll('#items thead th'));
          const i = heads.findIndex(h => h.dataset.col === key);
          return Array.from(document.querySelectorAll('#items tbody tr:not([hidden])'))
            .map(r => r.cells[i].dataset.v === '' ? null : parseFloat(r.cells[i].dataset.v));
        }""",
        key,
    )


def _sorted(values: list, descending: bool) -> list:
    finite = sorted((v for v in values if v is not None), reverse=descending)
    return finite + [None] * sum(v is None for v in values)


def _wait_audio_metadata(page) -> list[dict]:
    page.wait_for_function(
        "Array.from(document.querySelectorAll('audio')).every(a => a.readyState >= 1 || a.error)",
        timeout=20_000,
    )
    return page.eval_on_selector_all(
        "audio",
        "els => els.map(a => ({src: a.currentSrc, duration: a.duration, "
        "expected: parseFloat(a.dataset.duration), error: a.error && a.error.code}))",
    )


def _images_loaded(page) -> list[str]:
    """Sources of images that did not load (an empty list when all did)."""
    page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=20_000)
    return page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !(i.naturalWidth > 0)).map(i => i.src)"
    )


def test_index_page_loads_from_file_without_errors(probe, site):
    probe.open(site["index"])
    page = probe.page
    assert page.url.startswith("file://")
    # the vendored script ran (it fills the item count) and the stylesheet applied
    assert page.text_content("#count") == "5 of 5 items shown"
    assert page.eval_on_selector("nav.top", "n => getComputedStyle(n).borderBottomStyle") == (
        "solid"
    )
    assert page.locator("#runs").is_visible() and page.locator("#paired").is_visible()
    assert _images_loaded(page) == []
    probe.shot("report-index")
    assert probe.errors == []


def test_item_pages_play_every_clip_with_the_right_duration(probe, site):
    doc = json.loads((site["report"] / "report.json").read_text())
    for item_id in ("i0", "i1", "i3"):
        probe.open(site["report"] / doc["items"][item_id])
        audio = _wait_audio_metadata(probe.page)
        assert audio, f"{item_id}: no audio elements"
        for a in audio:
            assert a["error"] is None, a
            assert abs(a["duration"] - a["expected"]) < 0.06, a
            assert Path(unquote(urlparse(a["src"]).path)).is_file()
        assert _images_loaded(probe.page) == []
        probe.shot(f"report-item-{item_id}")
    # i1 failed to parse in run B: the page says why and has no B clip
    assert probe.errors == []
    probe.open(site["report"] / doc["items"]["i1"])
    assert "Why it failed: unparsed" in probe.page.text_content("#patch-B")
    assert probe.page.locator(".clip.gen-B.missing").count() == 1


def test_sorting_by_a_metric_column_reorders_rows(probe, site):
    probe.open(site["index"])
    page = probe.page
    original_ids = _ids_in_table(page)
    original = _column(page, "rms|A")
    assert original != _sorted(original, descending=True)  # the fixture is not pre-sorted
    head = page.locator('#items th[data-col="rms|A"]')
    head.click()  # higher is better: best first = descending
    assert _column(page, "rms|A") == _sorted(original, descending=True)
    assert _ids_in_table(page) != original_ids
    assert head.get_attribute("aria-sort") == "descending"
    head.click()  # again: worst first
    assert _column(page, "rms|A") == _sorted(original, descending=False)
    # a lower-is-better column sorts ascending for "best first"
    dist = _column(page, "dist|B")
    page.locator('#items th[data-col="dist|B"]').click()
    assert _column(page, "dist|B") == _sorted(dist, descending=False)
    # the metric picker's buttons do the same
    rms_b = _column(page, "rms|B")
    page.select_option("#metric", "rms|B")
    page.click("#worst-first")
    assert _column(page, "rms|B") == _sorted(rms_b, descending=False)
    page.click("#best-first")
    assert _column(page, "rms|B") == _sorted(rms_b, descending=True)
    # text columns sort too
    page.locator("#items thead th").first.click()
    assert _ids_in_table(page) == sorted(original_ids)
    assert probe.errors == []


def test_filters_hide_rows(probe, site):
    probe.open(site["index"])
    page = probe.page
    page.select_option("#show", "failed")
    assert sorted(_ids_in_table(page)) == ["i1", "i3"]
    assert page.text_content("#count") == "2 of 5 items shown"
    page.select_option("#show", "all")
    page.select_option("#metric", "rms|A")
    page.fill("#vmin", "0.7")
    expected = sorted(r["id"] for r in site["rows"]["A"] if r["rms"] >= 0.7)
    assert sorted(_ids_in_table(page)) == expected and 0 < len(expected) < 5
    page.fill("#vmin", "")
    page.fill("#q", "number 4")
    assert _ids_in_table(page) == ["i4"]
    assert probe.errors == []


def test_ab_control_switches_sources(probe, site):
    doc = json.loads((site["report"] / "report.json").read_text())
    probe.open(site["report"] / doc["items"]["i0"])
    page = probe.page
    buttons = page.locator(".ab-btn")
    assert buttons.count() == 3  # reference, A, B
    player = page.locator("#ab-player")
    first = player.get_attribute("src")
    target = page.locator('.ab-btn[data-key="B"]')
    target.click()
    assert player.get_attribute("src") == target.get_attribute("data-src") != first
    assert target.get_attribute("aria-pressed") == "true"
    assert page.locator('.ab-btn[data-key="ref"]').get_attribute("aria-pressed") == "false"
    page.wait_for_function("document.getElementById('ab-player').readyState >= 1")
    assert abs(page.evaluate("document.getElementById('ab-player').duration") - 0.768) < 0.06
    page.keyboard.press("2")  # number keys switch too: 2 = run A
    assert player.get_attribute("src") == page.locator('.ab-btn[data-key="A"]').get_attribute(
        "data-src"
    )
    assert probe.errors == []


def test_leaderboard_page_sorts_and_links_to_reports(probe, site):
    probe.open(site["leaderboard"])
    page = probe.page
    assert page.url.startswith("file://")
    names = "table.leaderboard tbody tr td:first-child b"
    head = page.locator('table.leaderboard th[data-col="rms"]')
    head.click()
    assert page.eval_on_selector_all(names, "els => els.map(e => e.textContent)") == [
        "good",
        "bad",
    ]
    head.click()
    assert page.eval_on_selector_all(names, "els => els.map(e => e.textContent)") == [
        "bad",
        "good",
    ]
    probe.shot("leaderboard")
    links = page.locator("a.report-link")
    assert links.count() == 1
    links.first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/reports/run-a/index.html")
    assert page.text_content("#count") == "5 of 5 items shown"
    assert probe.errors == []
