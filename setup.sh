#!/usr/bin/env bash
# Sets up everything the app and the tests need: the Fashion-MNIST Debian package and a .venv in the repo.
# Safe to run again: it reinstalls only when the requirement files changed.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages: the Fashion-MNIST data set, and Chromium + its driver for the browser tests.
need=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
[ -d /usr/share/fonts/truetype/noto ] || need+=(fonts-noto-color-emoji)  # emoji and kana in browser screenshots
[ -e /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] || need+=(fonts-ipafont-gothic)
# Handwriting-style fonts for synthetic letters (qnn_core/data/font_letters.py lists each file and its licence).
for font in truetype/fifthhorseman/dkg.ttf:fonts-dkg-handwriting truetype/breip/Breip.ttf:fonts-breip \
            opentype/bwht/BecauseWeLearn-Regular.otf:fonts-bwht truetype/humor-sans/Humor-Sans.ttf:fonts-humor-sans \
            opentype/comic-neue/ComicNeue-Regular.otf:fonts-comic-neue \
            opentype/kaushanscript/KaushanScript-Regular.otf:fonts-kaushanscript \
            opentype/dancingscript/DancingScript-Regular.otf:fonts-dancingscript; do
  [ -e "/usr/share/fonts/${font%%:*}" ] || need+=("${font##*:}")
done
# Hiragana: handwriting-like Japanese fonts (qnn_core/data/hiragana.py lists each file and its licence) and EDICT,
# the dictionary whose all-hiragana readings are the words the line reader knows (sequence/edict.py).
for font in truetype/yozvox-yozfont/YOzRE_.ttf:fonts-yozvox-yozfont-edu truetype/kiloji/kiloji.ttf:fonts-kiloji \
            truetype/klee/KleeOne-Regular.ttf:fonts-klee truetype/aoyagi-soseki/aoyagi-soseki.ttf:fonts-aoyagi-soseki \
            truetype/yusei-magic/YuseiMagic-Regular.ttf:fonts-yusei-magic truetype/seto/setofont.ttf:fonts-seto; do
  [ -e "/usr/share/fonts/${font%%:*}" ] || need+=("${font##*:}")
done
[ -f /usr/share/edict/edict ] || need+=(edict)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "note: missing Debian packages: ${need[*]} (sudo apt-get install ${need[*]})" >&2
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.qnn-installed
want=$(cat pyproject.toml requirements-torchquantum.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q torch==2.14.1 torchvision==0.29.1  # the machine's local wheels
  # The project itself (editable: `qnn` and `import qnn_core` use this checkout), its runtime pins and the test and
  # Ray extras, all declared in pyproject.toml.
  .venv/bin/python -m pip install -q -e ".[test,ray]"
  # TorchQuantum and qiskit: their metadata asks for tensorflow, pyscf, qiskit<1 and numpy<2, so --no-deps; what they
  # really import is among pyproject.toml's dependencies.
  .venv/bin/python -m pip install -q --no-deps -r requirements-torchquantum.txt
  .venv/bin/python -c "import torchquantum, streamlit, pytorch_grad_cam, qnn_core" 2>/dev/null
  echo "$want" > "$stamp"
fi
