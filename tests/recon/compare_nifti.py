#!/usr/bin/python3
"""Compares our NIfTI files with dcm2niix's reference files using nibabel.

Usage: compare_nifti.py OURS.nii REF.nii[.gz] [OURS.nii REF.nii ...]
For each pair prints one line:
  PASS <ours> <ref> <detail>   or   FAIL <ours> <ref> <reason>
Both images are reoriented with nibabel's as_closest_canonical; then the
shapes must agree, the affines within 1e-3 mm and the voxel values (after
scl_slope/scl_inter) exactly (int data) or within 1e-4 relative (float).
"""
import sys

import nibabel as nib
import numpy as np


def compare(ours_path, ref_path):
    ours = nib.as_closest_canonical(nib.load(ours_path))
    ref = nib.as_closest_canonical(nib.load(ref_path))
    if ours.shape != ref.shape:
        return False, "shape %s vs %s" % (ours.shape, ref.shape)
    diff = np.abs(ours.affine - ref.affine).max()
    a = np.asarray(ours.dataobj, dtype=np.float64)
    b = np.asarray(ref.dataobj, dtype=np.float64)
    if a.shape != b.shape:
        return False, "data shape %s vs %s" % (a.shape, b.shape)
    vox = np.abs(a - b).max() if a.size else 0.0
    tol = 0.0 if np.issubdtype(ref.get_data_dtype(), np.integer) else 1e-4 * max(1.0, np.abs(b).max())
    if diff > 1e-3:
        return False, "affine differs by %.4g mm" % diff
    if vox > tol:
        n = int((np.abs(a - b) > tol).sum())
        return False, "%d voxels differ (max %.4g)" % (n, vox)
    return True, "affine %.2g mm, voxels identical" % diff


def main(argv):
    ok = True
    for ours_path, ref_path in zip(argv[1::2], argv[2::2]):
        try:
            good, detail = compare(ours_path, ref_path)
        except Exception as e:  # a file nibabel cannot load is a failure, with the reason
            good, detail = False, "nibabel: %s" % e
        ok = ok and good
        print("%s %s %s %s" % ("PASS" if good else "FAIL", ours_path, ref_path, detail))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
