#!/usr/bin/python3
"""Checks a resampled (_Tilt/_Eq) NIfTI of a synthetic linear phantom.

Usage: resample_check.py NII JSON
JSON: {"a": [ax, ay, az], "b": b,          phantom value = a . P + b, P in LPS mm
       "p0": [...], "u": [...],              first slice position, stack direction (unit)
       "row": [...], "col": [...],           DICOM row / column direction cosines
       "rows": R, "cols": C, "rs": dr, "cs": dc, "last": mm along u of the last slice,
       "padding": value or null, "margin": rows}
nibabel reads the file; every voxel whose world position (its affine, RAS
-> LPS) lies inside the acquired slab, one row/slice away from its edges,
must hold the phantom's value there within 1 (each interpolation rounds);
"margin" rows next to the slab's edges are not checked (an _Eq slice blends
two tilted slices whose edges lie that far apart).
With a padding value, voxels more than one row outside the slab must hold
it. Prints "OK <checked> <padded>" or the first failures; exit 1 on failure.
"""
import json
import sys

import nibabel as nib
import numpy as np


def main(path, spec_path):
    spec = json.load(open(spec_path))
    img = nib.load(path)
    data = np.asarray(img.dataobj, dtype=np.float64)
    if data.ndim != 3:
        print("FAIL not 3D: %s" % (data.shape,))
        return 1
    ijk = np.indices(data.shape).reshape(3, -1).astype(np.float64)
    world = img.affine[:3, :3] @ ijk + img.affine[:3, 3:4]
    world[0] *= -1  # RAS -> LPS
    world[1] *= -1
    a, b = np.array(spec["a"]), spec["b"]
    p0, u = np.array(spec["p0"])[:, None], np.array(spec["u"])
    row, col = np.array(spec["row"]), np.array(spec["col"])
    n = np.cross(row, col)
    rel = world - p0
    d = n @ rel                      # distance along the normal
    along = d / (u @ n)              # distance along the stack direction
    inplane = rel - np.outer(u, along)
    m = spec["margin"]
    x = (row @ inplane) / spec["cs"]
    y = (col @ inplane) / spec["rs"]
    inside = ((x >= 0) & (x <= spec["cols"] - 1) & (y >= m) & (y <= spec["rows"] - 1 - m) &
              (along >= 0) & (along <= spec["last"]))
    expected = a @ world + b
    values = data.reshape(-1)
    bad = inside & (np.abs(values - expected) > 1.0 + 1e-6)
    ok = True
    if inside.sum() < 0.3 * values.size:
        print("FAIL only %d of %d voxels inside the slab" % (inside.sum(), values.size))
        ok = False
    if bad.any():
        i = np.flatnonzero(bad)[:5]
        print("FAIL %d voxels differ, e.g. got %s expected %s" % (bad.sum(), values[i], expected[i]))
        ok = False
    padded = 0
    if spec.get("padding") is not None:
        outside = (along >= 0) & (along <= spec["last"]) & ((y < -m) | (y > spec["rows"] - 1 + m))
        padded = int(outside.sum())
        wrong = outside & (values != spec["padding"])
        if wrong.any():
            print("FAIL %d voxels outside the slab are not padding" % wrong.sum())
            ok = False
    if ok:
        print("OK %d %d" % (inside.sum(), padded))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
