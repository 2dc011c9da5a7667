"""AppTest of the Animals page: a bundled example, an upload, a non-animal, a bad file."""

from helpers import ROOT
from streamlit.testing.v1 import AppTest

PAGE = str(ROOT / "app_pages" / "animals.py")
CHELSEA = ROOT / "assets" / "animals" / "chelsea.jpg"


def _label(at: AppTest) -> str:
    big = [m.value for m in at.markdown if "qnn-label" in m.value]
    assert len(big) == 1, big
    return big[0].split(">")[1].split("<")[0]


def test_example_photo_is_classified_and_explained():
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not at.exception
    assert _label(at) == "cat"
    assert any("Grad-CAM" in c and "451×300" in c for img in at.image for c in img.captions)
    assert len(at.get("plotly_chart")) >= 2  # probabilities and the qubits' <Z>
    assert not at.warning  # a clear cat photo: no "This doesn't look like an animal"
    at.slider(key="animals_example_result_opacity").set_value(0.9).run()
    at.toggle(key="animals_example_result_quantum").set_value(False).run()
    assert not at.exception and any("quantum branch off" in m.value for m in at.markdown)


def test_non_animal_gets_none_of_these():
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.radio(key="animals_example").set_value("A cup of coffee (CC0, scikit-image): not an animal").run()
    assert not at.exception
    assert any("This doesn't look like an animal." in w.value for w in at.warning)


def test_upload_and_bad_upload():
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    at.get("file_uploader")[0].upload("cat.jpg", CHELSEA.read_bytes(), "image/jpeg")
    at.run()
    assert not at.exception
    assert sum("qnn-label" in m.value for m in at.markdown) == 2  # the upload and the example tab
    at.get("file_uploader")[0].upload("notes.jpg", b"not a photo", "image/jpeg")
    at.run()
    assert not at.exception
    assert any("cannot be used" in e.value for e in at.error)
