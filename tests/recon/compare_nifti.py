#!/usr/bin/python3
"""Compares our NIfTI files with dcm2niix's reference files using nibabel.

Usage: compare_nifti.py [--voxels-only|--resampled] OURS.nii REF.nii[.gz] [OURS.nii REF.nii ...]
For each pair prints one line:
  PASS <ours> <ref> <detail>   or   FAIL <ours> <ref> <reason>
Both images are reoriented with nibabel's as_closest_canonical; then the
shapes must agree, the affines within 1e-3 mm and the voxel values (after
scl_slope/scl_inter) exactly (int data) or within 1e-4 relative (float).
--voxels-only skips the affine: for gantry-tilted CT, dcm2niix's untilted
output carries an affine that is not the DICOM geometry (its voxel (0,ny-1,0)
lies 26 mm from the first slice's ImagePositionPatient in dcm_qa_ct_GE); the
caller checks our geometry against pydicom instead (nifti_check.py).
--resampled: dcm2niix's _Tilt/_Eq volumes. Its sform there shears the
slice axis (nii_saveNII3Deq scales a row of srow, "to do" in its source);
its qform is the geometry, but orthogonalised from that sheared matrix it is
off by about 3e-4 rad (0.07 mm at the far corner of dcm_qa_ct_GE's 250 mm
field), so ours is compared with the qform within 0.1 mm; voxels may differ
by 1 (each interpolation rounds, and float rounding decides ties). Our
geometry itself is checked analytically in tests/recon/resample_test.cc.
"""
import sys

import nibabel as nib
import numpy as np


def unscaled_canonical(img):
    raw = np.asarray(img.dataobj.get_unscaled())
    return np.asarray(nib.as_closest_canonical(nib.Nifti1Image(raw, img.affine)).dataobj)


def compare(ours_path, ref_path, voxels_only=False, resampled=False):
    ours_file, ref_file = nib.load(ours_path), nib.load(ref_path)
    if resampled:
        ref_file = nib.Nifti1Image(np.asarray(ref_file.dataobj), ref_file.get_qform())
    ours = nib.as_closest_canonical(ours_file)
    ref = nib.as_closest_canonical(ref_file)
    if ours.shape != ref.shape:
        return False, "shape %s vs %s" % (ours.shape, ref.shape)
    diff = np.abs(ours.affine - ref.affine).max()
    a = np.asarray(ours.dataobj, dtype=np.float64)
    b = np.asarray(ref.dataobj, dtype=np.float64)
    if a.shape != b.shape:
        return False, "data shape %s vs %s" % (a.shape, b.shape)
    vox = np.abs(a - b).max() if a.size else 0.0
    tol = 0.0 if np.issubdtype(ref.get_data_dtype(), np.integer) else 1e-4 * max(1.0, np.abs(b).max())
    if resampled:
        tol = max(tol, 1.0)
    if diff > (0.1 if resampled else 1e-3) and not voxels_only:
        return False, "affine differs by %.4g mm" % diff
    if vox > tol:
        # NIfTI stores scl_slope/scl_inter as float32: when the stored
        # integers are identical and the scalings agree to float32-ish
        # precision (dcm2niix rounds some vendor scalings differently), the
        # voxels are the same data.
        ra, rb = unscaled_canonical(ours_file), unscaled_canonical(ref_file)
        sa, sb = ours_file.dataobj.slope, ref_file.dataobj.slope
        ia, ib = ours_file.dataobj.inter, ref_file.dataobj.inter
        if (np.array_equal(ra, rb) and abs(sa - sb) <= 1e-5 * abs(sb) and
                abs(ia - ib) <= 1e-5 * max(1.0, abs(ib))):
            return True, "affine %.2g mm, stored integers identical, scl within 1e-5" % diff
        n = int((np.abs(a - b) > tol).sum())
        return False, "%d voxels differ (max %.4g)" % (n, vox)
    if voxels_only:
        return True, "voxels identical (affine not compared: %.2g mm)" % diff
    if resampled:
        n = int((a != b).sum())
        return True, "affine %.2g mm (qform), %d of %d voxels differ by 1" % (diff, n, a.size)
    return True, "affine %.2g mm, voxels identical" % diff


def main(argv):
    ok = True
    voxels_only = len(argv) > 1 and argv[1] == "--voxels-only"
    resampled = len(argv) > 1 and argv[1] == "--resampled"
    if voxels_only or resampled:
        argv = argv[1:]
    for ours_path, ref_path in zip(argv[1::2], argv[2::2]):
        try:
            good, detail = compare(ours_path, ref_path, voxels_only, resampled)
        except Exception as e:  # a file nibabel cannot load is a failure, with the reason
            good, detail = False, "nibabel: %s" % e
        ok = ok and good
        print("%s %s %s %s" % ("PASS" if good else "FAIL", ours_path, ref_path, detail))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
