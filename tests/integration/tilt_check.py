#!/usr/bin/python3
"""Checks a tilt-corrected NIfTI (_Tilt_1, _Tilt_Eq_1) for nifti_tilt_test.cc.

  tilt_check.py voxels OURS REF        same shape, datatype, scl_slope/inter
                                       and identical stored voxels (nibabel)
  tilt_check.py affine OURS REF [--mirror-z]
                                       sform and qform within 1e-3 mm of REF's.
                                       --mirror-z: REF is dcm2niix's volume of
                                       the series mirrored through z = 0 (its
                                       tilt negated, its slices in reverse
                                       order): its affine is mirrored back
                                       (RAS z -> -z) and its k axis reversed
  tilt_check.py geometry NII DICOM...  every voxel the sform puts on a
                                       source slice's plane
                                       (within 1e-3 mm) holds that slice's
                                       value there (pydicom), linear between
                                       rows, within rounding (0.5) and 1e-3
                                       row;
                                       voxels beside padding are skipped;
                                       the qform's corners within 1e-3 of
                                       the volume's extent
Prints "PASS <detail>" or "FAIL <reason>"; exit 1 on failure.
"""
import sys

import nibabel as nib
import numpy as np
import pydicom

TOL_MM = 1e-3


def check_voxels(ours_path, ref_path):
    ours, ref = nib.load(ours_path), nib.load(ref_path)
    if ours.shape != ref.shape:
        return False, "shape %s vs dcm2niix's %s" % (ours.shape, ref.shape)
    if ours.get_data_dtype() != ref.get_data_dtype():
        return False, "datatype %s vs %s" % (ours.get_data_dtype(), ref.get_data_dtype())
    for field in ("scl_slope", "scl_inter"):
        a, b = float(ours.header[field]), float(ref.header[field])
        if not (a == b or (np.isnan(a) and np.isnan(b))):
            return False, "%s %g vs %g" % (field, a, b)
    a = np.asarray(ours.dataobj.get_unscaled())
    b = np.asarray(ref.dataobj.get_unscaled())
    if not np.array_equal(a, b):
        diff = np.argwhere(a != b)
        i = tuple(diff[0])
        return False, "%d of %d voxels differ, first at %s: %s vs %s" % (
            len(diff), a.size, i, a[i], b[i])
    return True, "shape %s, %d voxels identical" % (a.shape, a.size)


def check_affine(ours_path, ref_path, mirror):
    ours, ref = nib.load(ours_path), nib.load(ref_path)
    if ours.shape != ref.shape:
        return False, "shape %s vs %s" % (ours.shape, ref.shape)
    worst = []
    for name in ("sform", "qform"):
        a = getattr(ours.header, "get_" + name)()
        b = getattr(ref.header, "get_" + name)()
        if mirror:
            flip_k = np.eye(4)
            flip_k[2, 2], flip_k[2, 3] = -1, ref.shape[2] - 1
            b = np.diag([1.0, 1.0, -1.0, 1.0]) @ b @ flip_k
        d = np.abs(a - b).max()
        worst.append(d)
        if d > TOL_MM:
            np.set_printoptions(precision=5, suppress=True)
            return False, "%s differs by %.4g mm: ours %s, expected %s" % (
                name, d, a[:3].tolist(), b[:3].tolist())
    return True, "sform %.2g mm, qform %.2g mm" % tuple(worst)


def load_series(paths):
    slices = [pydicom.dcmread(p) for p in paths]
    iop = np.array(slices[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    slices.sort(key=lambda d: float(normal @ np.array(d.ImagePositionPatient, dtype=float)))
    pixels = [d.pixel_array.astype(float) * float(d.RescaleSlope) + float(d.RescaleIntercept)
              for d in slices]
    padding = None
    if "PixelPaddingValue" in slices[0]:
        padding = float(slices[0].PixelPaddingValue) * float(slices[0].RescaleSlope) + \
            float(slices[0].RescaleIntercept)
    positions = np.array([d.ImagePositionPatient for d in slices], dtype=float)
    spacing = [float(v) for v in slices[0].PixelSpacing]  # between rows, between columns
    return iop[:3], iop[3:], normal, positions, pixels, padding, spacing


def check_geometry_with(affine, values, series):
    row, col, normal, positions, pixels, padding, (rs, cs) = series
    ijk = np.indices(values.shape).reshape(3, -1).astype(float)
    world = affine[:3, :3] @ ijk + affine[:3, 3:4]
    world[:2] *= -1  # RAS -> LPS
    flat = values.reshape(-1)
    on_plane = checked = 0
    worst = 0.0
    for s, p0 in enumerate(positions):
        rel = world - p0[:, None]
        here = np.abs(normal @ rel) <= TOL_MM
        if not here.any():
            continue
        on_plane += int(here.sum())
        c = (row @ rel[:, here]) / cs
        r = (col @ rel[:, here]) / rs
        nr, nc = pixels[s].shape
        inside = (c > -TOL_MM) & (c < nc - 1 + TOL_MM) & (r > -TOL_MM) & (r < nr - 1 + TOL_MM)
        c, r, got = np.rint(c[inside]).astype(int), r[inside], flat[here][inside]
        lo = np.clip(np.floor(r + TOL_MM).astype(int), 0, nr - 1)
        hi = np.minimum(lo + 1, nr - 1)
        f = np.clip(r - lo, 0, 1)
        a, b = pixels[s][lo, c], pixels[s][hi, c]
        use = np.ones(len(got), dtype=bool)
        if padding is not None:
            use = (a != padding) & (b != padding)
        expected = a * (1 - f) + b * f
        # The value rounds (0.5); a position within 1e-3 row moves it by
        # that much of the step between the two rows.
        excess = np.abs(got - expected) - 0.5 - 1e-3 * np.abs(b - a)
        if use.any():
            worst = max(worst, float(excess[use].max()))
        checked += int(use.sum())
    if checked < 0.3 * values.size / max(1, values.shape[2]):
        return False, "only %d voxels lie on a source slice's plane (%d checked)" % (on_plane, checked)
    if worst > 1e-3:
        return False, "a voxel differs from its DICOM value by %.4g more than rounding" % worst
    return True, "%d voxels on source planes, %d checked" % (on_plane, checked)


def check_geometry(nii_path, dicom_paths):
    img = nib.load(nii_path)
    values = np.asarray(img.dataobj, dtype=float)
    sform, qform = img.header.get_sform(), img.header.get_qform()
    good, detail = check_geometry_with(sform, values, load_series(dicom_paths))
    if not good:
        return False, "sform: " + detail
    # The qform's quaternion is float32 (NIfTI-1): near a half turn it only
    # holds the rotation to about 1e-3 rad (dcm2niix's the same), so its
    # corners lie within 1e-3 of the volume's extent of the sform's.
    corners = np.array([[i, j, k, 1] for i in (0, values.shape[0] - 1)
                        for j in (0, values.shape[1] - 1) for k in (0, values.shape[2] - 1)]).T
    apart = np.abs((qform - sform) @ corners).max()
    extent = np.linalg.norm(sform[:3, :3] @ (np.array(values.shape) - 1))
    if apart > 1e-3 * extent + TOL_MM:
        return False, "qform's corners lie up to %.4g mm from the sform's (extent %.4g mm)" % (
            apart, extent)
    return True, "sform: %s; qform within %.2g mm" % (detail, apart)


def main(argv):
    try:
        if argv[1] == "voxels":
            good, detail = check_voxels(argv[2], argv[3])
        elif argv[1] == "affine":
            good, detail = check_affine(argv[2], argv[3], "--mirror-z" in argv[4:])
        elif argv[1] == "geometry":
            good, detail = check_geometry(argv[2], argv[3:])
        else:
            good, detail = False, "unknown check " + argv[1]
    except Exception as e:  # a file nibabel or pydicom cannot read fails, with the reason
        good, detail = False, "%s: %s" % (type(e).__name__, e)
    print("%s %s" % ("PASS" if good else "FAIL", detail))
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
