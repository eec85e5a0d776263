#!/usr/bin/python3
"""HTTP checks of a dcmfs mount published by nginx as IIIF (run by iiif_test.cc).

  iiif_check.py BASE_URL MOUNT DATA_DIR [--wsi-only]

DATA_DIR/wsi/*.dcm are the levels of a whole-slide pyramid; with --wsi-only
the mount holds only that pyramid (the corpus' real slide).

Expectations are computed here, independently of dcmfs: tile URLs from the
spec's tile rules applied to info.json, reference pixels from pydicom + numpy
with the PS3.3 C.11.2.1.2 window formulas, stored WSI frames read by pydicom.
Prints one line per failure and exits 1 if any.
"""
import glob
import io
import json
import math
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pydicom
from PIL import Image

BASE, MOUNT, DATA = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
failures = []
checks = 0


def check(cond, message):
    global checks
    checks += 1
    if not cond:
        failures.append(message)
        print("FAIL:", message, flush=True)
    return cond


def url(path):
    """BASE + path, percent-encoded where a folder name needs it (the
    anonymized view's names hold spaces); request syntax is kept as typed."""
    return BASE + urllib.parse.quote(path, safe="/:,!^%")


def get(path, headers=None):
    req = urllib.request.Request(url(path), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def image(path):
    status, headers, body = get(path)
    if not check(status == 200, f"{path}: status {status}"):
        return None
    check(headers.get("Access-Control-Allow-Origin") == "*", f"{path}: no CORS header")
    return Image.open(io.BytesIO(body))


def services():
    out = []
    for d in sorted(glob.glob(f"{MOUNT}/studies/*/*/iiif/*")):
        if os.path.isdir(d):
            out.append(d[len(MOUNT):])
    return out


def canonical_tiles(info):
    """Level-0 URLs a client builds from info.json (Image API 3.0 5.6, 4.8)."""
    w, h = info["width"], info["height"]
    paths = {"full/max/0/default.jpg"}
    for s in info.get("sizes", []):
        size = "max" if (s["width"], s["height"]) == (w, h) else f'{s["width"]},{s["height"]}'
        paths.add(f"full/{size}/0/default.jpg")
    expected_size = {}
    for t in info["tiles"]:
        tw, th = t["width"], t.get("height", t["width"])
        for sf in t["scaleFactors"]:
            for row in range(math.ceil(h / (th * sf))):
                for col in range(math.ceil(w / (tw * sf))):
                    x, y = col * tw * sf, row * th * sf
                    rw, rh = min(tw * sf, w - x), min(th * sf, h - y)
                    ow, oh = math.ceil(rw / sf), math.ceil(rh / sf)
                    region = "full" if (x, y, rw, rh) == (0, 0, w, h) else f"{x},{y},{rw},{rh}"
                    size = "max" if (ow, oh) == (rw, rh) else f"{ow},{oh}"
                    p = f"{region}/{size}/0/default.jpg"
                    paths.add(p)
                    expected_size[p] = (ow, oh)
    return paths, expected_size


def listed_paths(service_dir):
    out = set()
    for root, _, files in os.walk(MOUNT + service_dir):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), MOUNT + service_dir)
            if rel != "info.json":
                out.add(rel)
    return out


def check_service(svc):
    status, headers, body = get(svc + "/info.json")
    if not check(status == 200, f"{svc}/info.json: status {status}"):
        return None
    check(headers.get("Access-Control-Allow-Origin") == "*", f"{svc}/info.json: no CORS")
    info = json.loads(body)
    for key in ("@context", "id", "type", "protocol", "profile", "width", "height"):
        check(key in info, f"{svc}: info.json lacks {key}")
    check(info.get("@context") == "http://iiif.io/api/image/3/context.json", f"{svc}: @context")
    check(info.get("type") == "ImageService3", f"{svc}: type")
    check(info.get("protocol") == "http://iiif.io/api/image", f"{svc}: protocol")
    check(info.get("profile") == "level2", f"{svc}: profile")
    check(info.get("id") == url(svc), f"{svc}: id {info.get('id')}")
    paths, sizes = canonical_tiles(info)
    check(listed_paths(svc) == paths, f"{svc}: readdir lists {len(listed_paths(svc))} paths, "
          f"the spec's tile set has {len(paths)}")
    for p in sorted(paths):
        im = image(f"{svc}/{p}")
        if im is not None and p in sizes:
            check(im.size == sizes[p], f"{svc}/{p}: size {im.size}, advertised {sizes[p]}")
    status, _, _ = get(f"{svc}/full/max/0/nonsense.jpg")
    check(status == 400, f"{svc}: bad quality gave {status}")
    status, _, _ = get(f"{svc}/0,0,0,0/max/0/default.jpg")
    check(status == 400, f"{svc}: empty region gave {status}")
    return info


def window_linear(x, c, w):
    # PS3.3 C.11.2.1.2.1, ymin 0, ymax 255
    y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
    y = np.where(x <= c - 0.5 - (w - 1) / 2, 0, np.where(x > c - 0.5 + (w - 1) / 2, 255, y))
    return np.floor(y + 0.5).astype(np.uint8)


def window_exact(x, c, w):
    # PS3.3 C.11.2.1.3.2
    y = ((x - c) / w + 0.5) * 255
    y = np.where(x <= c - w / 2, 0, np.where(x > c + w / 2, 255, y))
    return np.floor(y + 0.5).astype(np.uint8)


def png(path):
    im = image(path)
    return None if im is None else np.asarray(im)


def close(a, b, tol, what):
    if a is None or b is None:
        return check(False, f"{what}: missing image")
    if not check(a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"):
        return False
    err = np.abs(a.astype(int) - b.astype(int)).mean()
    return check(err <= tol, f"{what}: mean abs difference {err:.2f} > {tol}")


def check_ct():
    files = sorted(glob.glob(f"{DATA}/ct/*.dcm"))
    dss = sorted((pydicom.dcmread(f) for f in files), key=lambda d: float(d.ImagePositionPatient[2]))
    ds = dss[0]
    svc_dir = glob.glob(f"{MOUNT}/studies/*/{ds.SeriesInstanceUID}")[0][len(MOUNT):]
    svc = f"{svc_dir}/iiif/{ds.SOPInstanceUID}"
    ref = window_linear(ds.pixel_array * 1.0 + float(ds.RescaleIntercept), 40, 400)
    close(png(f"{svc}/full/max/0/default.png"), ref, 0.01, "CT full/max png")
    close(png(f"{svc}/100,50,200,100/max/0/default.png"), ref[50:150, 100:300], 0.01, "CT region")
    close(png(f"{svc}/100,50,200,100/max/90/default.png"), np.rot90(ref[50:150, 100:300], -1), 0.01,
          "CT region rotated 90")
    close(png(f"{svc}/100,50,200,100/max/!0/default.png"), np.fliplr(ref[50:150, 100:300]), 0.01,
          "CT region mirrored")
    close(png(f"{svc}/pct:50,50,50,50/max/180/default.png"), np.rot90(ref[200:, 300:], 2), 0.01,
          "CT pct region rotated 180")
    half = np.asarray(Image.fromarray(ref).resize((300, 200), Image.BOX))
    close(png(f"{svc}/full/300,/0/default.png"), half, 1.0, "CT full/300,")
    close(png(f"{svc}/full/!150,150/0/default.png"),
          np.asarray(Image.fromarray(ref).resize((150, 100), Image.BOX)), 1.5, "CT !150,150")
    up = png(f"{svc}/0,0,60,40/^120,/0/default.png")
    check(up is not None and up.shape == (80, 120), "CT ^120, upscaled size")
    bit = png(f"{svc}/full/max/0/bitonal.png")
    check(bit is not None and set(np.unique(bit)) <= {0, 255}, "CT bitonal is two-valued")
    status, _, _ = get(f"{svc}/full/1200,/0/default.png")
    check(status == 400, f"CT upscale without ^ gave {status}")
    # The manifest: canvases in spatial order (instance numbers run the other way).
    status, headers, body = get(f"{svc_dir}/manifest.json")
    if check(status == 200, f"manifest status {status}"):
        m = json.loads(body)
        check(m.get("type") == "Manifest", "manifest type")
        labels = [c["label"]["none"][0] for c in m["items"]]
        want = [f"Instance {d.InstanceNumber}" for d in dss]
        check(labels == want, f"manifest order {labels} != {want}")
        for c in m["items"]:
            service = c["items"][0]["items"][0]["body"]["service"][0]["id"]
            check(service.startswith(BASE), "manifest service id base")
            st, _, _ = get(service[len(BASE):] + "/info.json")
            check(st == 200, f"manifest service {service}: {st}")
            thumb = c["thumbnail"][0]
            im = image(thumb["id"][len(BASE):])
            check(im is not None and im.size == (thumb["width"], thumb["height"]), "thumbnail size")
    status, _, body = get(f"{svc_dir}/iiif/study-manifest.json")
    if check(status == 200, f"study manifest status {status}"):
        m = json.loads(body)
        check(len(m.get("structures", [])) >= 3, "study manifest lists the series as ranges")


def check_multiframe():
    ds = pydicom.dcmread(glob.glob(f"{DATA}/mf/*.dcm")[0])
    svc_dir = glob.glob(f"{MOUNT}/studies/*/{ds.SeriesInstanceUID}")[0][len(MOUNT):]
    for k in range(2):
        frame = ds.pixel_array[k].astype(float)
        lo = np.percentile(frame, 0.5, method="lower")
        hi = np.percentile(frame, 99.5, method="lower")
        ref = window_exact(frame, (lo + hi) / 2, hi - lo)
        close(png(f"{svc_dir}/iiif/{ds.SOPInstanceUID}.f{k + 1}/full/max/0/default.png"), ref, 0.01,
              f"multi-frame frame {k + 1} (percentile window)")


def check_wsi():
    levels = sorted((pydicom.dcmread(f) for f in glob.glob(f"{DATA}/wsi/*.dcm")),
                    key=lambda d: -int(d.TotalPixelMatrixColumns))
    base = levels[0]
    svc_dir = glob.glob(f"{MOUNT}/studies/*/{base.SeriesInstanceUID}")[0][len(MOUNT):]
    svc = f"{svc_dir}/iiif/{base.SeriesInstanceUID}"
    status, _, body = get(svc + "/info.json")
    if not check(status == 200, "wsi info.json"):
        return
    info = json.loads(body)
    check((info["width"], info["height"]) == (base.TotalPixelMatrixColumns, base.TotalPixelMatrixRows),
          "wsi size from the total pixel matrix")
    check(info["tiles"][0]["width"] == base.Columns, "wsi tile size from the frames")
    check(info["tiles"][0]["scaleFactors"][:3] == [1, 2, 4], f"wsi scale factors {info['tiles']}")
    tile = base.Columns
    for level, s in ((levels[0], 1), (levels[1], 2)):
        frames = list(pydicom.encaps.generate_pixel_data_frame(level.PixelData, int(level.NumberOfFrames)))
        size = "max" if s == 1 else f"{tile},{tile}"
        _, _, body = get(f"{svc}/{tile * s},0,{tile * s},{tile * s}/{size}/0/default.jpg")
        stored = frames[1]
        check(body == stored or body == stored[:-1], f"wsi level 1/{s} tile (1,0) passed through")
    # A composed region vs PIL's downscale of pydicom's decode of the base level.
    across = -(-base.TotalPixelMatrixColumns // tile)
    full = np.zeros((-(-base.TotalPixelMatrixRows // tile) * tile, across * tile, 3), np.uint8)
    for i, f in enumerate(pydicom.encaps.generate_pixel_data_frame(base.PixelData, int(base.NumberOfFrames))):
        full[(i // across) * tile:(i // across + 1) * tile, (i % across) * tile:(i % across + 1) * tile] = \
            np.asarray(Image.open(io.BytesIO(f)).convert("RGB"))
    ref = np.asarray(Image.fromarray(full[100:300, 100:400]).resize((150, 100), Image.BOX))
    close(png(f"{svc}/100,100,300,200/150,100/0/default.png"), ref, 6.0, "wsi composed region")


def main_wsi_only():
    """A real whole-slide pyramid (the shared corpus): every service's
    info.json and canonical tiles, then the pyramid checks above."""
    for svc in services():
        check_service(svc)
    check_wsi()
    print(f"{checks} checks, {len(failures)} failures")
    sys.exit(1 if failures else 0)


def main():
    if sys.argv[4:] == ["--wsi-only"]:
        main_wsi_only()
    svcs = services()
    check(len(svcs) >= 6, f"services found: {svcs}")
    for svc in svcs:
        check_service(svc)
    check_ct()
    check_multiframe()
    check_wsi()
    status, headers, _ = get(svcs[0] + "/info.json", {"Accept": "application/ld+json"})
    check(headers.get("Content-Type", "").startswith("application/ld+json"), "JSON-LD on request")
    status, _, _ = get(svcs[0].rsplit("/", 1)[0] + "/9.9.9/full/max/0/default.jpg")
    check(status == 404, f"unknown image gave {status}")
    print(f"{checks} checks, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":  # anon_iiif_check.py imports the checks
    main()
