#!/usr/bin/env python3
"""Writes a small axial CT and three DICOM SEGs (BINARY, one segment "Ball":
the voxels whose centre lies within 7 mm of a point) of it, for
tests/integration/mesh_test.cc:
  placed/   frames carry Plane Position (per-frame functional groups);
  sourced/  the same frames, shuffled, with no Plane Position anywhere: only
            Derivation Image Sequence > Source Image Sequence names the CT
            slice each frame was made from;
  orphan/   like sourced/, but the source images are not in the archive.
Usage: mesh_seg.py OUT_DIR  (prints the study UID, the three SEG series UIDs
and the ball's voxel volume in mm^3)."""
import os, sys
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out = sys.argv[1]
nx, ny, nz, sc, sr, dz = 40, 36, 24, 1.0, 0.8, 2.0
origin = np.array([-20.0, -15.0, 0.0])
centre, radius = np.array([1.0, -0.5, 23.0]), 7.0
CT, SEG = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.66.4"
study, ct_series, frame_uid = generate_uid(), generate_uid(), generate_uid()


def base(sop_class, series_uid, modality, number):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID = "Seg^Phantom", "SEG1"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series_uid
    ds.StudyDate, ds.Modality, ds.SeriesNumber = "20240101", modality, number
    ds.FrameOfReferenceUID = frame_uid
    ds.is_little_endian, ds.is_implicit_VR = True, False
    return ds


def item(**kw):
    d = Dataset()
    for k, v in kw.items():
        setattr(d, k, v)
    return d


j, i = np.mgrid[0:ny, 0:nx]
masks, ct_uids = [], []
os.makedirs(os.path.join(out, "ct"), exist_ok=True)
for k in range(nz):
    x, y, z = origin[0] + i * sc, origin[1] + j * sr, origin[2] + k * dz
    mask = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 <= radius ** 2
    masks.append(mask.astype(np.uint8))
    ds = base(CT, ct_series, "CT", 1)
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [float(v) for v in origin + [0, 0, k * dz]]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing, ds.SliceThickness = [sr, sc], dz
    ds.Rows, ds.Columns = ny, nx
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope = 0, 1
    ds.PixelData = np.where(mask, 60, -20).astype("<i2").tobytes()
    ds.save_as(os.path.join(out, "ct", "ct%03d.dcm" % k), write_like_original=False)
    ct_uids.append(ds.SOPInstanceUID)
slices = [k for k in range(nz) if masks[k].any()]


def seg(folder, positions, sources, order):
    series = generate_uid()
    ds = base(SEG, series, "SEG", 10 + len(folder))
    ds.InstanceNumber = 1
    ds.SegmentationType = "BINARY"
    ds.Rows, ds.Columns, ds.NumberOfFrames = ny, nx, len(order)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    ds.ContentLabel, ds.ImageType = "BALL", ["DERIVED", "PRIMARY"]
    ds.SegmentSequence = Sequence([item(SegmentNumber=1, SegmentLabel="Ball",
                                        SegmentAlgorithmType="MANUAL")])
    ds.ReferencedSeriesSequence = Sequence([item(SeriesInstanceUID=ct_series)])
    ds.SharedFunctionalGroupsSequence = Sequence([item(
        PlaneOrientationSequence=Sequence([item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])]),
        PixelMeasuresSequence=Sequence([item(PixelSpacing=[sr, sc], SliceThickness=dz,
                                             SpacingBetweenSlices=dz)]))])
    per_frame = Sequence()
    for k in order:
        f = item(SegmentIdentificationSequence=Sequence([item(ReferencedSegmentNumber=1)]))
        if positions:
            pos = [float(v) for v in origin + [0, 0, k * dz]]
            f.PlanePositionSequence = Sequence([item(ImagePositionPatient=pos)])
        if sources:
            uid = ct_uids[k] if sources == "archive" else generate_uid()
            src = item(ReferencedSOPClassUID=CT, ReferencedSOPInstanceUID=uid)
            f.DerivationImageSequence = Sequence([item(SourceImageSequence=Sequence([src]))])
        per_frame.append(f)
    ds.PerFrameFunctionalGroupsSequence = per_frame
    bits = np.concatenate([masks[k].ravel() for k in order])
    ds.PixelData = np.packbits(bits, bitorder="little").tobytes()
    os.makedirs(os.path.join(out, folder), exist_ok=True)
    ds.save_as(os.path.join(out, folder, "seg.dcm"), write_like_original=False)
    return series


shuffled = slices[1::2] + slices[0::2]
uids = [seg("placed", True, None, slices), seg("sourced", False, "archive", shuffled),
        seg("orphan", False, "elsewhere", shuffled)]
voxel_volume = sum(int(m.sum()) for m in masks) * sc * sr * dz
print(study, *uids, "%.6f" % voxel_volume)
