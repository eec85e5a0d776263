#!/usr/bin/python3
"""Checks preview.png and mpr/ PNGs of every series folder under a mount's
/studies view against nibabel's reading of the same folder's series.nii and
pydicom's reading of the original instances, with the window formula of
DICOM PS3.3 C.11.2.1.2.1 written out here (not taken from dcmfs).

Usage: pictures_check.py MOUNT   -> prints one line per checked series;
exit status 1 on the first mismatch."""
import glob
import os
import sys

import nibabel as nib
import numpy as np
import pydicom
from PIL import Image


def window(values, center, width):
    # PS3.3 C.11.2.1.2.1, LINEAR, output range 0..255.
    v = np.asarray(values, dtype=np.float64)
    out = ((v - (center - 0.5)) / (width - 1) + 0.5) * 255.0
    out = np.where(v <= center - 0.5 - (width - 1) / 2, 0.0, out)
    out = np.where(v > center - 0.5 + (width - 1) / 2, 255.0, out)
    return np.clip(np.rint(out), 0, 255)


def png(path):
    return np.asarray(Image.open(path))


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


def check_series(folder):
    nii_path = os.path.join(folder, "series.nii")
    img = nib.load(nii_path)
    data = np.asanyarray(img.dataobj).astype(np.float64)
    slope, inter = img.header.get_slope_inter()
    if slope is not None:
        data = data * slope + (inter or 0.0)
    if data.ndim != 3:
        return "skipped (4D)"
    dicoms = [pydicom.dcmread(p) for p in sorted(glob.glob(os.path.join(folder, "*.dcm")))]
    dicoms = [d for d in dicoms if "PixelData" in d]
    if not dicoms or "WindowCenter" not in dicoms[0]:
        return "skipped (no stored window)"
    center, width = float(dicoms[0].WindowCenter), float(dicoms[0].WindowWidth)
    counts = {p: len(os.listdir(os.path.join(folder, "mpr", p))) for p in ("axial", "coronal", "sagittal")}

    # preview.png: the middle slice along the normal, as the DICOM rows show it.
    iop = np.array(dicoms[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    dicoms.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, dtype=float))))
    mid = dicoms[len(dicoms) // 2]
    expected = window(mid.pixel_array * float(getattr(mid, "RescaleSlope", 1)) +
                      float(getattr(mid, "RescaleIntercept", 0)), center, width)
    got = png(os.path.join(folder, "preview.png"))
    if got.shape != expected.shape:
        fail(f"{folder}: preview shape {got.shape} != {expected.shape}")
    if np.abs(got.astype(int) - expected).max() > 1:
        fail(f"{folder}: preview pixels differ from pydicom + window")

    # MPR of an axis-aligned volume: plain slices of the canonical (RAS) array.
    canon = nib.as_closest_canonical(img)
    aff = canon.affine
    if not np.allclose(aff[:3, :3], np.diag(np.diag(aff[:3, :3])), atol=1e-4):
        return f"preview ok; oblique: mpr counts {counts}"
    c = np.asanyarray(canon.dataobj).astype(np.float64)
    if slope is not None:
        c = c * slope + (inter or 0.0)
    nx, ny, nz = c.shape
    if counts != {"axial": nz, "coronal": ny, "sagittal": nx}:
        fail(f"{folder}: mpr counts {counts} != {(nx, ny, nz)}")
    for k in (0, nz // 2, nz - 1):
        # axial: columns right->left (RAS i descending), rows anterior->posterior.
        exp = window(c[::-1, ::-1, k].T, center, width)
        got = png(os.path.join(folder, "mpr", "axial", "%04d.png" % (k + 1)))
        if got.shape != exp.shape or np.abs(got.astype(int) - exp).max() > 1:
            fail(f"{folder}: mpr/axial/{k + 1:04d}.png differs")
    for j in (0, ny // 2):
        # coronal image n runs anterior->posterior: RAS j = ny-1-n; rows superior first.
        exp = window(c[::-1, ny - 1 - j, ::-1].T, center, width)
        got = png(os.path.join(folder, "mpr", "coronal", "%04d.png" % (j + 1)))
        if got.shape != exp.shape or np.abs(got.astype(int) - exp).max() > 1:
            fail(f"{folder}: mpr/coronal/{j + 1:04d}.png differs")
    for i in (0, nx // 2):
        # sagittal image n runs right->left: RAS i = nx-1-n; columns anterior->posterior.
        exp = window(c[nx - 1 - i, ::-1, ::-1].T, center, width)
        got = png(os.path.join(folder, "mpr", "sagittal", "%04d.png" % (i + 1)))
        if got.shape != exp.shape or np.abs(got.astype(int) - exp).max() > 1:
            fail(f"{folder}: mpr/sagittal/{i + 1:04d}.png differs")
    return f"preview and mpr ok {counts}"


def main():
    mount = sys.argv[1]
    checked = 0
    for folder in sorted(glob.glob(os.path.join(mount, "studies", "*", "*"))):
        if not os.path.exists(os.path.join(folder, "series.nii")):
            continue
        print(os.path.basename(folder), check_series(folder))
        checked += 1
    if checked == 0:
        fail("no series with series.nii")
    print("OK", checked)


if __name__ == "__main__":
    main()
