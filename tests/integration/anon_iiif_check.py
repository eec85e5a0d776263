#!/usr/bin/python3
"""HTTP and file checks of the IIIF files in /anonymized (run by
anonymized_iiif_test.cc), with iiif_check.py's checks of each service.

  anon_iiif_check.py BASE_URL MOUNT DATA_DIR

- every anonymized image service passes iiif_check.check_service (info.json
  properties and id, readdir = the spec's canonical tile set, every tile
  served at its advertised size, 400s);
- service ids are the UIDs the de-identified .dcm files beside them carry
  (paired with the originals through their pixel data), never original ones;
- every listed tile, and a few non-canonical requests, are byte for byte the
  identified view's file of the same original image;
- manifests: ids under BASE/anonymized/, labels "<number> <modality>",
  canvases whose services and thumbnails resolve; the study manifest holds a
  range per anonymized series with IIIF and nothing of excluded series;
- series with an image left out (EXCLUDED.txt) have no IIIF at all;
- no original UID, name, ID, date or series description in any byte of any
  IIIF file or manifest of the view.
Prints one line per failure and exits 1 if any.
"""
import glob
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iiif_check as ic  # noqa: E402  (reads BASE MOUNT DATA from argv)
import pydicom  # noqa: E402

MOUNT, ANON = ic.MOUNT, ic.MOUNT + "/anonymized"
EXTRA_REQUESTS = ["pct:10,10,50,50/max/90/default.png", "full/!100,100/!0/gray.webp",
                  "square/64,/180/bitonal.jpg"]


def pixel_key(ds):
    return hashlib.sha256(bytes(ds.PixelData)).hexdigest()


def series_folders():
    return sorted(d for d in glob.glob(f"{ANON}/*/*/*") if os.path.isdir(d))


def id_pairs():
    """Anonymized image id -> (identified service path, anonymized folder)."""
    # The burned-in copy shares a CT slice's pixels: its modality tells them apart.
    originals = {}
    for f in glob.glob(f"{MOUNT}/studies/*/*/*.dcm"):
        ds = pydicom.dcmread(f)
        originals[(pixel_key(ds), ds.Modality)] = (ds, os.path.dirname(f))
    pairs = {}
    for f in glob.glob(f"{ANON}/*/*/*/*.dcm"):
        ds = pydicom.dcmread(f)
        orig = originals.get((pixel_key(ds), ds.Modality))
        if not ic.check(orig is not None, f"{f}: no identified file with its pixels"):
            continue
        o, folder = orig
        ic.check(ds.SOPInstanceUID.startswith("2.25."), f"{f}: SOP UID not remapped")
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        pairs[ds.SeriesInstanceUID] = f"{folder}/iiif/{o.SeriesInstanceUID}"  # a pyramid's id
        if frames > 1:
            for k in range(1, frames + 1):
                pairs[f"{ds.SOPInstanceUID}.f{k}"] = f"{folder}/iiif/{o.SOPInstanceUID}.f{k}"
        else:
            pairs[ds.SOPInstanceUID] = f"{folder}/iiif/{o.SOPInstanceUID}"
    return pairs


def check_tiles_equal(svc, identified):
    paths = sorted(ic.listed_paths(svc)) + EXTRA_REQUESTS
    for p in paths:
        a, b = f"{MOUNT}{svc}/{p}", f"{identified}/{p}"
        try:
            with open(a, "rb") as fa, open(b, "rb") as fb:
                ic.check(fa.read() == fb.read(), f"{svc}/{p}: differs from {b}")
        except OSError as e:
            ic.check(False, f"{svc}/{p}: {e}")
    return len(paths)


def check_manifest(path, kind):
    status, _, body = ic.get(path)
    if not ic.check(status == 200, f"{path}: status {status}"):
        return None
    m = json.loads(body)
    ic.check(m.get("type") == "Manifest", f"{path}: type")
    ic.check(m["id"] == ic.url(path), f"{path}: id {m['id']}")
    for c in m["items"]:
        ic.check(c["id"].startswith(ic.BASE + "/anonymized/"), f"{path}: canvas id {c['id']}")
        service = c["items"][0]["items"][0]["body"]["service"][0]["id"]
        ic.check(service.startswith(ic.BASE + "/anonymized/"), f"{path}: service {service}")
        st, _, _ = ic.get(urllib_unquote(service[len(ic.BASE):]) + "/info.json")
        ic.check(st == 200, f"{path}: service {service}: {st}")
        thumb = c["thumbnail"][0]
        st, _, _ = ic.get(urllib_unquote(thumb["id"][len(ic.BASE):]))
        ic.check(st == 200, f"{path}: thumbnail {thumb['id']}: {st}")
    if kind == "series":
        label = m["label"]["none"][0]
        parts = label.split(" ")
        ic.check(len(parts) == 2 and parts[0].isdigit(), f"{path}: label {label!r}")
    return m


def urllib_unquote(s):
    import urllib.parse
    return urllib.parse.unquote(s)


def phi_needles():
    needles = set()
    for f in glob.glob(f"{ic.DATA}/**/*.dcm", recursive=True):
        ds = pydicom.dcmread(f)
        for tag in ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID",
                    "FrameOfReferenceUID", "PatientID", "StudyDate", "SeriesDescription"):
            v = str(ds.get(tag, "")).strip()
            if len(v) >= 4:
                needles.add(v)
        name = str(ds.get("PatientName", ""))
        needles.update(p for p in [name] + name.split("^") if len(p) >= 4)
    return sorted(needles)


def check_no_phi():
    needles = [n.encode() for n in phi_needles()]
    scanned = 0
    for d, _, files in os.walk(ANON):
        for name in files:
            p = os.path.join(d, name)
            if "/iiif/" not in p + "/" and name != "manifest.json":
                continue
            with open(p, "rb") as fh:
                data = fh.read()
            scanned += 1
            for n in needles:
                ic.check(n not in data and n not in p.encode(), f"PHI {n!r} in {p}")
    ic.check(scanned > 20, f"only {scanned} IIIF files scanned")
    return scanned


def main():
    svcs = [d[len(MOUNT):] for d in sorted(glob.glob(f"{ANON}/*/*/*/iiif/*")) if os.path.isdir(d)]
    ic.check(len(svcs) >= 6, f"anonymized services: {svcs}")
    pairs = id_pairs()
    compared = 0
    for svc in svcs:
        ic.check_service(svc)
        image_id = svc.rsplit("/", 1)[1]
        ic.check(image_id.startswith("2.25."), f"{svc}: id not a 2.25 UID")
        if ic.check(image_id in pairs, f"{svc}: no de-identified file carries its UID"):
            compared += check_tiles_equal(svc, pairs[image_id])
    with_iiif = 0
    for folder in series_folders():
        rel = folder[len(MOUNT):]
        has_iiif = os.path.isdir(f"{folder}/iiif")
        if os.path.exists(f"{folder}/EXCLUDED.txt"):
            ic.check(not has_iiif and not os.path.exists(f"{folder}/manifest.json"),
                     f"{rel}: IIIF in a folder with an excluded image")
            ic.check(not os.path.exists(f"{folder}/iiif/study-manifest.json"), f"{rel}: study")
            continue
        if not has_iiif:
            continue
        with_iiif += 1
        check_manifest(f"{rel}/manifest.json", "series")
        study = check_manifest(f"{rel}/iiif/study-manifest.json", "study")
        if study is not None:
            ranges = study.get("structures", [])
            folders = {r["id"].rsplit("/", 1)[0] for r in ranges}
            siblings = [f for f in series_folders() if os.path.dirname(f) == os.path.dirname(folder)
                        and os.path.isdir(f"{f}/iiif")]
            ic.check(folders == {ic.url(f[len(MOUNT):]) for f in siblings},
                     f"{rel}: study ranges {sorted(folders)}")
    ic.check(with_iiif >= 3, f"anonymized series with IIIF: {with_iiif}")
    scanned = check_no_phi()
    print(f"{len(svcs)} services, {compared} tiles compared, {scanned} files scanned")
    print(f"{ic.checks} checks, {len(ic.failures)} failures")
    sys.exit(1 if ic.failures else 0)


main()
