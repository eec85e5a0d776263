#!/usr/bin/env python3
"""The reference side's input for a CT series on disk: its slices sorted
along the slice normal (Image Position, PS3.3 C.7.6.2.1.1), rescaled to HU
and written as one raw int16 volume (i fastest) for bench/mesh_vtk.py.
Usage: mesh_corpus_raw.py DICOM_DIR RAW
Prints: NX NY NZ SX SY SZ (SZ: the mean gap between slice positions; a
gantry tilt's shear is left out, which moves vertices but not the work)."""
import os, sys
import numpy as np
import pydicom

src, raw = sys.argv[1], sys.argv[2]
slices = []
for root, _, files in os.walk(src):
    for name in files:
        try:
            ds = pydicom.dcmread(os.path.join(root, name))
        except Exception:
            continue
        if ds.get("Modality") != "CT" or "PixelData" not in ds or "ImagePositionPatient" not in ds:
            continue
        o = np.array(ds.ImageOrientationPatient, float)
        normal = np.cross(o[:3], o[3:])
        slices.append((float(np.dot(normal, np.array(ds.ImagePositionPatient, float))), ds))
slices.sort(key=lambda s: s[0])
if not slices:
    sys.exit("no CT slices with a position under " + src)
with open(raw, "wb") as f:
    for _, ds in slices:
        hu = ds.pixel_array * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
        f.write(np.round(hu).astype("<i2").tobytes())
first = slices[0][1]
gap = (slices[-1][0] - slices[0][0]) / max(1, len(slices) - 1) or float(first.get("SliceThickness", 1))
print(first.Columns, first.Rows, len(slices), float(first.PixelSpacing[1]),
      float(first.PixelSpacing[0]), abs(gap))
