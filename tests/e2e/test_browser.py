"""End to end in a real headless Chromium against `streamlit run` on localhost.

Draws a digit on the canvas with pointer events (the canvas sits in a shadow root), writes a whole
phone number on the wide canvas, uploads a file on another page, and screenshots every page. Set
QNN_SAVE_SCREENSHOTS=1 to write the screenshots into docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PIL import Image

from qnn_core.data.loaders import load_split
from qnn_core.tasks import get_task

from .browser_helpers import DIGIT_STROKES, FIND_CANVAS, ROOT, new_driver, require_chromium, streamlit_server, wait_idle
from .browser_helpers import digit_strokes as _digit_strokes
from .browser_helpers import draw_strokes as _draw_strokes
from .browser_helpers import shown_label as _shown_label
from .browser_helpers import wait_for as _wait_for

pytestmark = pytest.mark.e2e

SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def server():
    with streamlit_server() as (url, _proc):
        yield url


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    driver = new_driver()
    yield driver
    driver.quit()


def _screenshot(driver, name: str, tmp_path_factory) -> Path:
    folder = SHOTS if os.environ.get("QNN_SAVE_SCREENSHOTS") == "1" else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    time.sleep(1.0)  # let charts finish their transitions
    driver.save_screenshot(str(path))
    assert Image.open(path).size[0] >= 1000
    return path


def test_draw_a_digit_on_the_canvas(server, browser, tmp_path_factory):
    started = time.time()
    browser.get(f"{server}/digits")
    rect = _wait_for(browser, lambda: browser.execute_script(FIND_CANVAS), what="the drawing canvas")
    # A '1': one firm vertical stroke with a short lead-in, in the middle of the canvas.
    _draw_strokes(browser, rect, [[(0.42, 0.22), (0.52, 0.14)] + [(0.52, 0.14 + 0.07 * i) for i in range(1, 11)]])
    label = _wait_for(browser, lambda: _shown_label(browser), what="a predicted label")
    first_prediction_s = time.time() - started
    assert label == "1"
    _wait_for(browser, lambda: "Grad-CAM" in browser.page_source, what="the Grad-CAM overlay")
    _screenshot(browser, "digits", tmp_path_factory)
    print(f"page open to first prediction: {first_prediction_s:.1f} s")


def test_write_a_phone_number_on_the_wide_canvas(server, browser, tmp_path_factory):
    number = "0170171170"
    browser.get(f"{server}/digits")
    # The first page of a fresh server also imports torch and loads the model: allow for a slow machine.
    _wait_for(browser, lambda: browser.execute_script(FIND_CANVAS), what="the drawing canvas", timeout=180)
    browser.execute_script(
        "[...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Phone number').click()"
    )
    rect = _wait_for(
        browser, lambda: (r := browser.execute_script(FIND_CANVAS)) and r[2] > 600 and r, what="the wide canvas"
    )
    left, top, width, height = rect
    cell = width / len(number)
    strokes = [
        [(left + (i + 0.15 + 0.7 * x) * cell, top + (0.12 + 0.76 * y) * height) for x, y in stroke]
        for i, digit in enumerate(number)
        for stroke in DIGIT_STROKES[digit]
    ]
    _draw_strokes(browser, (0, 0, 1, 1), strokes)
    shown = _wait_for(
        browser,
        lambda: browser.execute_script(
            "const el = document.querySelector('.qnn-line'); return el ? el.textContent : null;"
        ),
        what="the formatted phone number",
        timeout=90,
    )
    assert shown == f"{number[:3]}-{number[3:6]}-{number[6:]}"
    _wait_for(
        browser,
        lambda: "Grad-CAM" in browser.page_source and "10 digits found" in browser.page_source,
        what="the boxes and the Grad-CAM of a digit",
    )
    # A click on the third confidence bar (the "7") shows that digit's Grad-CAM.
    bar = _wait_for(
        browser,
        lambda: browser.find_elements("css selector", ".js-plotly-plot g.point path"),
        what="the confidence bars",
    )[2]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", bar)
    time.sleep(1.0)
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).move_to_element(bar).click().perform()
    _wait_for(browser, lambda: "Grad-CAM for “7”" in browser.page_source, what="the clicked digit's Grad-CAM")
    _wait_for(
        browser,
        lambda: browser.execute_script(
            "return [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"
        ),
        what="the new images",
    )
    time.sleep(3.0)  # the page reruns after a click: let the replaced images arrive
    browser.execute_script("document.querySelector('.qnn-line').scrollIntoView()")
    _screenshot(browser, "phone_number", tmp_path_factory)


def test_upload_shows_prediction_and_gradcam(server, browser, tmp_path, tmp_path_factory):
    test = load_split(get_task("fashion"), "test")
    i = int((test.labels == 7).nonzero()[0][0])  # a sneaker
    path = tmp_path / "sneaker.png"
    Image.fromarray(test.images[i]).resize((280, 280)).save(path)
    browser.get(f"{server}/fashion")
    _wait_for(
        browser,
        lambda: browser.execute_script("return document.querySelectorAll('[role=tab]').length >= 3"),
        what="the page's tabs",
    )
    browser.execute_script("document.querySelectorAll('[role=tab]')[1].click()")
    file_input = _wait_for(browser, lambda: browser.find_elements("css selector", "input[type=file]"), what="uploader")
    wait_idle(browser)
    file_input[0].send_keys(str(path))
    _wait_for(browser, lambda: "Grad-CAM" in browser.page_source, what="the Grad-CAM overlay", timeout=90)
    assert _shown_label(browser) == "Sneaker"
    # The captions arrive with the page; the images themselves load a moment later.
    _wait_for(
        browser,
        lambda: browser.execute_script(
            "return [...document.querySelectorAll('img')].filter(i => i.naturalWidth > 100).length >= 2"
        ),
        what="the Grad-CAM and model-input images",
    )
    _screenshot(browser, "fashion", tmp_path_factory)


def test_shots_slider_shows_how_the_label_spreads(server, browser):
    """The ⚛️ view's Shots view: moving the slider from exact to 10 shots shows the 20 re-samplings' labels."""
    browser.get(f"{server}/digits")
    rect = _wait_for(browser, lambda: browser.execute_script(FIND_CANVAS), what="the drawing canvas", timeout=180)
    _draw_strokes(browser, rect, _digit_strokes("7"))
    _wait_for(browser, lambda: _shown_label(browser), what="a predicted label")
    _wait_for(
        browser,
        lambda: browser.execute_script(  # the quantum view arrives after the label
            "const b = [...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Shots');"
            "if (b) b.click(); return !!b;"
        ),
        what="the quantum view's Shots button",
    )
    # The slider is react-aria's: a visually hidden range input that takes the keyboard.
    thumb = _wait_for(
        browser,
        lambda: browser.find_elements("css selector", "input[type=range][aria-label='Shots per estimate']"),
        what="the shots slider",
    )[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", thumb)
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    ActionChains(browser).send_keys(Keys.END).perform()  # exact -> 1,000 -> 100 -> 10: the last stop
    spread = _wait_for(
        browser,
        lambda: browser.execute_script(
            "const el = document.querySelector('.qnn-shots'); return el ? el.textContent : null;"
        ),
        what="the label spread over the re-samplings",
        timeout=60,
    )
    assert "Over 20 re-samplings of 10 shots" in spread and "differs from the exact one" in spread, spread


def test_a_drawn_digit_on_a_simulated_device(server, browser, tmp_path_factory):
    """The ⚛️ view's "On a real device": a drawn digit's circuit routed onto fake_kolkata and its noisy prediction."""
    browser.get(f"{server}/digits")
    rect = _wait_for(browser, lambda: browser.execute_script(FIND_CANVAS), what="the drawing canvas", timeout=180)
    _draw_strokes(browser, rect, _digit_strokes("7"))
    _wait_for(browser, lambda: _shown_label(browser), what="a predicted label")
    click = "const b = [...document.querySelectorAll('button')].find(b => b.innerText.trim() === %r); if (b) b.click(); return !!b;"
    _wait_for(browser, lambda: browser.execute_script(click % "On a real device"), what="the device view's button")
    _wait_for(
        browser,
        lambda: browser.execute_script(click % "▶ Run on fake_kolkata (simulated)"),
        what="the run button",
    )
    # the calibration's table arrives after the routing: its words are waited for too, not raced
    wanted = ("not a run on hardware", "The routing onto fake_kolkata", "SWAPs inserted", "shots on fake_kolkata")
    wanted += ("CNOTs", "CNOT error", "readout error")
    body = _wait_for(  # the page fills in as the run's elements arrive: wait for all of them
        browser,
        lambda: (
            (text := browser.execute_script("return document.body.innerText"))
            and all(w in text for w in wanted)
            and text
        ),
        what="the routing and the noisy prediction",
        timeout=120,
    )
    result = browser.execute_script("return document.querySelector('.qnn-device').textContent")
    assert "re-runs" in result and "Exact circuit" in result, result
    assert "CNOTs" in body and "CNOT error" in body and "readout error" in body
    browser.set_window_size(1400, 2300)
    try:
        browser.execute_script(
            "[...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'On a real device')"
            ".scrollIntoView({block: 'start'})"
        )
        _screenshot(browser, "device", tmp_path_factory)
    finally:
        browser.set_window_size(1400, 1100)


@pytest.mark.parametrize("page", ["", "kana", "results", "training"])
def test_every_page_renders_in_the_browser(server, browser, tmp_path_factory, page):
    browser.get(f"{server}/{page}")
    _wait_for(
        browser,
        lambda: browser.execute_script(
            "return document.querySelector('h1') !== null && !document.body.innerText.includes('Please wait')"
        ),
        what="the page title",
    )
    time.sleep(2.0)
    body = browser.execute_script("return document.body.innerText")
    assert "Traceback" not in body and "Error" not in body.split("\n")[0]
    _screenshot(browser, page or "home", tmp_path_factory)


def test_results_error_grid_is_readable(server, browser):
    """The misclassified-examples grid (large tiles, 12 pt labels) is shown near its own size, so its labels read."""
    browser.get(f"{server}/results")
    sizes = _wait_for(
        browser,
        lambda: browser.execute_script(
            "const i = [...document.querySelectorAll('[data-testid=stExpander] img')].filter(i => i.complete"
            " && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0);"
            "return i.length >= 1 ? i.map(e => [e.naturalWidth, e.getBoundingClientRect().width]) : null"
        ),
        what="the visible tab's error grid",
    )
    assert len(sizes) == 1 and all(shown >= 0.75 * natural for natural, shown in sizes), sizes


def test_animals_photo_upload(server, browser, tmp_path_factory):
    photo = ROOT / "assets" / "animals" / "chelsea.jpg"
    browser.get(f"{server}/animals")
    file_input = _wait_for(
        browser, lambda: browser.find_elements("css selector", "input[type=file]"), what="uploader", timeout=120
    )
    wait_idle(browser)
    file_input[0].send_keys(str(photo))
    labels = _wait_for(
        browser,
        lambda: browser.execute_script(
            "const l = [...document.querySelectorAll(\"div[style*='3.2rem']\")].map(e => e.textContent);"
            "return l.length >= 2 ? l : null;"
        ),
        what="the upload's and the example's labels",
        timeout=120,
    )
    assert labels[0] == "cat"
    # The Grad-CAM over the full photo is drawn after the label and the bars: wait for it, don't race it.
    _wait_for(
        browser,
        lambda: "Grad-CAM" in browser.page_source and "451×300" in browser.page_source,
        what="the Grad-CAM over the 451×300 photo",
        timeout=120,
    )
    _screenshot(browser, "animals", tmp_path_factory)
