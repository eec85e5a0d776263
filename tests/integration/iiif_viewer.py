#!/usr/bin/python3
"""A real IIIF viewer on the mount: OpenSeadragon (installed from npm here)
in headless Chromium shows the whole-slide pyramid's image service; the
screenshot must show the image (run by iiif_test.cc).

  iiif_viewer.py BASE_URL MOUNT DATA_DIR VIEWER_DIR

VIEWER_DIR is served by nginx at BASE_URL/viewer/. Exit 0 and "viewer ok"
when the screenshot is not blank and its mean intensity matches the slide's
(pydicom's decode of the base level, scaled into the 800x600 viewport on
black) within 10 %; exit 77 when npm or Chromium is unavailable.
"""
import glob
import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pydicom
from PIL import Image

BASE, MOUNT, DATA, VIEWER = sys.argv[1:5]
W, H = 800, 600


def skip(why):
    print("viewer skipped:", why)
    sys.exit(77)


chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if not chromium:
    skip("no chromium")
os.makedirs(VIEWER, exist_ok=True)
npm = subprocess.run(["npm", "install", "--prefix", VIEWER, "--no-audit", "--no-fund",
                      "--loglevel=error", "openseadragon@6"], capture_output=True, text=True)
js = glob.glob(f"{VIEWER}/node_modules/openseadragon/build/openseadragon/openseadragon.min.js")
if npm.returncode != 0 or not js:
    skip("npm install openseadragon failed: " + npm.stderr[-500:])
shutil.copy(js[0], f"{VIEWER}/openseadragon.min.js")

levels = sorted((pydicom.dcmread(f) for f in glob.glob(f"{DATA}/wsi/*.dcm")),
                key=lambda d: -int(d.TotalPixelMatrixColumns))
base = levels[0]
svc = glob.glob(f"{MOUNT}/studies/*/{base.SeriesInstanceUID}/iiif/{base.SeriesInstanceUID}")[0]
info_url = BASE + svc[len(MOUNT):] + "/info.json"
open(f"{VIEWER}/index.html", "w").write(f"""<!doctype html>
<html><body style="margin:0;background:#000;overflow:hidden">
<div id="v" style="width:{W}px;height:{H}px;background:#000"></div>
<script src="openseadragon.min.js"></script>
<script>
OpenSeadragon({{id: "v", prefixUrl: "", tileSources: ["{info_url}"], showNavigationControl: false,
  animationTime: 0, blendTime: 0, immediateRender: true, crossOriginPolicy: "Anonymous"}});
</script></body></html>
""")
shot = f"{VIEWER}/shot.png"


def screenshot():
    if os.path.exists(shot):
        os.remove(shot)
    run = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          f"--window-size={W},{H}", "--virtual-time-budget=20000",
                          f"--screenshot={shot}", BASE + "/viewer/index.html"],
                         capture_output=True, text=True, timeout=120)
    if not os.path.exists(shot):
        print("no screenshot:", run.stderr[-2000:])
        sys.exit(1)
    return np.asarray(Image.open(shot).convert("L").resize((W, H)), dtype=float)


# The slide, decoded by pydicom from the stored tiles of the base level.
tile = base.Columns
across = -(-base.TotalPixelMatrixColumns // tile)
full = np.zeros((-(-base.TotalPixelMatrixRows // tile) * tile, across * tile, 3), np.uint8)
frames = pydicom.encaps.generate_pixel_data_frame(base.PixelData, int(base.NumberOfFrames))
for i, f in enumerate(frames):
    r, c = divmod(i, across)
    full[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile] = np.asarray(Image.open(io.BytesIO(f)).convert("RGB"))
slide = Image.fromarray(full[:base.TotalPixelMatrixRows, :base.TotalPixelMatrixColumns]).convert("L")
scale = min(W / slide.width, H / slide.height)  # OpenSeadragon fits the image (home view)
shown = slide.resize((round(slide.width * scale), round(slide.height * scale)), Image.BOX)
expected = np.asarray(shown, dtype=float).sum() / (W * H)

# Headless Chromium's virtual time does not wait for tiles that the mount is
# still producing cold, so a first screenshot may miss some; the tiles are
# cached after that, and a later attempt shows the whole slide. Up to 3 tries.
for attempt in range(3):
    got = screenshot()
    mean, std = got.mean(), got.std()
    print(f"screenshot {attempt + 1}: mean {mean:.1f} std {std:.1f}; expected mean {expected:.1f}")
    if std >= 10 and abs(mean - expected) <= 0.10 * expected:
        print("viewer ok")
        sys.exit(0)
if std < 10:
    print("blank screenshot")
else:
    print("mean intensity off by more than 10 %")
sys.exit(1)
