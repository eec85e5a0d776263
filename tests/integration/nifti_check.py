#!/usr/bin/python3
"""Checks a NIfTI file of the mount against the DICOM files of its series.

Usage: nifti_check.py [--uneven] SERIES.nii DICOM [DICOM ...]
nibabel reads the .nii, pydicom the DICOM files. For every DICOM image the
world (RAS) positions of its four corner pixels (PS3.3 C.7.6.2.1.1, LPS with
x and y negated) are mapped through the inverse of nibabel's affine: they
must land on integer voxel coordinates of one slice, and that slice must
hold the DICOM pixels (pydicom's pixel_array with the rescale applied),
whatever voxel order the writer chose. Then random-offset reads of the file
must equal the same bytes of one full read. Prints "OK ..." or "FAIL reason".
--uneven (unevenly spaced slices, which one affine cannot place): slices
whose corners fall between NIfTI slices are skipped; those on the affine's
grid (at least two) are checked as above.
"""
import os
import random
import sys

import nibabel as nib
import numpy as np
import pydicom


def world(ds, row, col):
    ipp = np.array([float(x) for x in ds.ImagePositionPatient])
    iop = [float(x) for x in ds.ImageOrientationPatient]
    dr, dc = (float(x) for x in ds.PixelSpacing)
    p = ipp + col * dc * np.array(iop[:3]) + row * dr * np.array(iop[3:])
    return np.array([-p[0], -p[1], p[2]])


def check(nii_path, dicoms, uneven=False):
    img = nib.load(nii_path)
    data = np.asarray(img.dataobj, dtype=np.float64)
    inv = np.linalg.inv(img.affine)
    seen = set()
    skipped = 0
    for path in dicoms:
        ds = pydicom.dcmread(path)
        rows, cols = ds.Rows, ds.Columns
        corners = {}
        for r, c in ((0, 0), (0, cols - 1), (rows - 1, 0), (rows - 1, cols - 1)):
            v = inv.dot(np.append(world(ds, r, c), 1.0))[:3]
            if uneven and abs(v[2] - round(v[2])) > 1e-2:
                corners = None
                break
            if np.abs(v - np.round(v)).max() > 1e-2:
                return "pixel (%d,%d) of %s maps to non-integer voxel %s" % (r, c, path, v)
            corners[(r, c)] = np.round(v).astype(int)
        if corners is None:
            skipped += 1
            continue
        ks = {int(v[2]) for v in corners.values()}
        if len(ks) != 1:
            return "%s does not map to one slice: %s" % (path, corners)
        k = ks.pop()
        i0, j0 = corners[(0, 0)][:2]
        i1, j1 = corners[(rows - 1, cols - 1)][:2]
        if not (0 <= min(i0, i1) and max(i0, i1) < img.shape[0] and 0 <= min(j0, j1) and
                max(j0, j1) < img.shape[1] and 0 <= k < img.shape[2]):
            if uneven:
                skipped += 1
                continue
            return "%s maps outside the volume" % path
        ours = data[..., k] if data.ndim == 3 else data[..., k, 0]
        arr = ds.pixel_array.astype(np.float64) * float(ds.get("RescaleSlope", 1)) + float(
            ds.get("RescaleIntercept", 0))
        # Voxel (i, j) of each pixel (row, col), following the corner mapping.
        rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        a = corners[(0, cols - 1)] - corners[(0, 0)]
        b = corners[(rows - 1, 0)] - corners[(0, 0)]
        ii = i0 + (cc * a[0]) // max(1, cols - 1) + (rr * b[0]) // max(1, rows - 1)
        jj = j0 + (cc * a[1]) // max(1, cols - 1) + (rr * b[1]) // max(1, rows - 1)
        sampled = ours[ii, jj]
        if not np.allclose(sampled, arr, atol=1e-3 * max(1.0, np.abs(arr).max())):
            return "voxels of %s differ (max %.4g)" % (path, np.abs(sampled - arr).max())
        seen.add(k)
    if uneven and len(seen) < 2:
        return "fewer than two slices on the affine's grid"
    if not uneven and len(seen) != img.shape[2]:
        return "%d DICOM slices for %d NIfTI slices" % (len(seen), img.shape[2])
    whole = open(nii_path, "rb").read()
    if len(whole) != os.stat(nii_path).st_size:
        return "st_size %d but read %d bytes" % (os.stat(nii_path).st_size, len(whole))
    fd = os.open(nii_path, os.O_RDONLY)
    rng = random.Random(1)
    for _ in range(100):
        off = rng.randrange(len(whole))
        n = rng.randrange(1, 300000)
        if os.pread(fd, n, off) != whole[off:off + n]:
            os.close(fd)
            return "pread(%d, %d) differs from the full read" % (off, n)
    os.close(fd)
    return None


def main():
    args = sys.argv[1:]
    uneven = args[:1] == ["--uneven"]
    if uneven:
        args = args[1:]
    err = check(args[0], args[1:], uneven)
    print("FAIL " + err if err else "OK %s" % args[0])
    return 1 if err else 0


if __name__ == "__main__":
    sys.exit(main())
