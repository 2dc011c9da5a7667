"""Photos people take, in a real headless Chromium: a garment photo on the Clothes page, an ox on the Animals page.

The shoe is a validation photo of the clothing data set; the ox is imagenet-samples' (a test input, never a
measurement). QNN_SAVE_SCREENSHOTS=1 writes the screenshots into docs/screenshots/ (docs/photos.md shows them).
"""

from __future__ import annotations

import zipfile

import pytest

from qnn_core.tasks import SHARED_DATA, get_task

from .browser_helpers import chromium_missing, new_driver, streamlit_server, wait_idle
from .browser_helpers import wait_for as _wait_for
from .test_browser import _screenshot

pytestmark = pytest.mark.e2e

CLOTHES = get_task("clothes")
CLOTHES_ZIP = CLOTHES.data.default_root / CLOTHES.data.train[0]
SAMPLES = SHARED_DATA / "imagenet-samples" / "imagenet_samples_1000_short256.zip"


@pytest.fixture(scope="module")
def server():
    with streamlit_server(timeout=180) as (url, _proc):
        yield url


@pytest.fixture(scope="module")
def browser():
    if why := chromium_missing():
        pytest.fail(f"Chromium is not installed: {why}")
    driver = new_driver()
    yield driver
    driver.quit()


def _from_zip(zip_path, prefix: str, out) -> str:
    with zipfile.ZipFile(zip_path) as z:
        name = sorted(n for n in z.namelist() if n.startswith(prefix))[0]
        out.write_bytes(z.read(name))
    return str(out)


def _upload(browser, url: str, photo: str) -> str:
    """Upload a photo on a page; the big label it shows."""
    browser.get(url)
    file_input = _wait_for(
        browser, lambda: browser.find_elements("css selector", "input[type=file]"), what="uploader", timeout=180
    )
    wait_idle(browser)
    file_input[0].send_keys(photo)
    label = _wait_for(
        browser,
        lambda: browser.execute_script(
            "const l = [...document.querySelectorAll('.qnn-label')].map(e => e.textContent.trim());"
            "return l.length >= 1 ? l[0] : null;"
        ),
        what="the upload's label",
        timeout=180,
    )
    _wait_for(browser, lambda: "Grad-CAM for" in browser.page_source, what="the Grad-CAM", timeout=180)
    wait_idle(browser)
    return label


@pytest.mark.skipif(not CLOTHES_ZIP.is_file(), reason="clothing-photos data set not here")
def test_a_validation_shoe_photo_on_the_clothes_page(server, browser, tmp_path, tmp_path_factory):
    photo = _from_zip(CLOTHES_ZIP, "validation/shoes/", tmp_path / "shoe.jpg")
    assert _upload(browser, f"{server}/clothes", photo) == "shoes"
    assert "look like a garment" not in browser.execute_script("return document.body.innerText")
    _screenshot(browser, "clothes", tmp_path_factory)


@pytest.mark.skipif(not SAMPLES.is_file(), reason="imagenet-samples not here")
def test_the_ox_photo_on_the_animals_page_looks_like_a_cow(server, browser, tmp_path, tmp_path_factory):
    photo = _from_zip(SAMPLES, "345_", tmp_path / "ox.jpg")
    label = _upload(browser, f"{server}/animals", photo)
    assert label in get_task("animals").classes  # the six-class answer stays visible...
    body = browser.execute_script("return document.body.innerText")
    assert "ox.jpg" in body, f"the page lost the upload: {body[-300:]!r}"
    assert "This looks like a cow, which is not one of the six animals this model knows" in body
    assert "unreliable" in body  # ...marked as unreliable
    _screenshot(browser, "animals_cow", tmp_path_factory)
