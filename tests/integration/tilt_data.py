#!/usr/bin/python3
"""Writes a gantry-tilted CT series with pydicom, for nifti_tilt_test.cc.

  tilt_data.py OUT_DIR --tilt DEG --z Z0,Z1,... [--descending] [--series N]
               [--no-padding]

The bed moves along +z (LPS); each slice's column direction is tilted by
DEG about the x axis, as a GE scanner writes it (corpus dcm_qa_ct_GE, +18.5:
ImageOrientationPatient 1\\0\\0\\0\\cos\\-sin): so the stack is sheared and
GantryDetectorTilt (0018,1120) says DEG. Rows and columns differ (28 x 20)
and so do their spacings (0.7 x 0.5 mm), so a transposed row/column in
anyone's arithmetic moves the result. Pixels are pseudo-random int16
(seeded by |z|, so a series mirrored through z = 0 has the same
pixels) with a band of PixelPaddingValue at one side of each slice, so
the padding rule of the tilt correction is exercised.
--descending numbers instances from the highest z down (InstanceNumber
against position). One file per slice, <OUT_DIR>/<InstanceNumber>.dcm.
"""
import argparse
import math
import os

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

CT_CLASS = "1.2.840.10008.5.1.4.1.1.2"
ROOT = "1.2.826.0.1.3680043.8.498.7777."  # pydicom's root; fixed UIDs keep reruns identical
ROWS, COLS = 28, 20
ROW_SPACING, COL_SPACING = 0.7, 0.5  # PixelSpacing: between rows, between columns
PADDING = -2000


def slice_dataset(args, k, z, number):
    t = math.radians(args.tilt)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_CLASS
    meta.MediaStorageSOPInstanceUID = "%s%d.%d" % (ROOT, args.series, number)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CT_CLASS
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = ROOT + "1"
    ds.SeriesInstanceUID = "%s2.%d" % (ROOT, args.series)
    ds.FrameOfReferenceUID = ROOT + "3"
    ds.PatientName = "Tilt^Phantom"
    ds.PatientID = "TILT1"
    ds.StudyDate = "20240101"
    ds.StudyTime = "120000"
    ds.Modality = "CT"
    ds.Manufacturer = "GE MEDICAL SYSTEMS"
    ds.SeriesNumber = args.series
    ds.SeriesDescription = "tilt %g" % args.tilt
    ds.ProtocolName = "tilt"
    ds.InstanceNumber = number
    ds.ImagePositionPatient = [-5.0, -8.0 * math.cos(t), z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, round(math.cos(t), 7), round(-math.sin(t), 7)]
    ds.GantryDetectorTilt = args.tilt
    ds.PixelSpacing = [ROW_SPACING, COL_SPACING]
    ds.SliceThickness = 2.5
    ds.Rows, ds.Columns = ROWS, COLS
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    rng = np.random.default_rng(int(round(abs(z) * 1000)))  # |z|: a mirrored series shares pixels
    pixels = rng.integers(-1000, 3000, size=(ROWS, COLS)).astype("<i2")
    if not args.no_padding:
        ds.PixelPaddingValue = PADDING
        pixels[:, :3] = PADDING  # a band of padding at the first columns
        pixels[ROWS - 2:, 5:9] = PADDING  # and a patch next to the last rows
    ds.PixelData = pixels.tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    return ds


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--tilt", type=float, required=True)
    p.add_argument("--z", required=True, help="slice positions along the bed, mm")
    p.add_argument("--descending", action="store_true")
    p.add_argument("--series", type=int, default=1)
    p.add_argument("--no-padding", action="store_true")
    args = p.parse_args()
    zs = [float(v) for v in args.z.split(",")]
    os.makedirs(args.out, exist_ok=True)
    order = sorted(range(len(zs)), key=lambda k: zs[k], reverse=args.descending)
    for number, k in enumerate(order, start=1):
        ds = slice_dataset(args, k, zs[k], number)
        ds.save_as(os.path.join(args.out, "%02d.dcm" % number), write_like_original=False)


if __name__ == "__main__":
    main()
