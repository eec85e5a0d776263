#!/usr/bin/env python3
"""Writes a synthetic CT (axial int16 slices, explicit VR little endian) and
the same voxels as a raw int16 volume (i fastest) for the mesh benchmark.
Usage: mesh_ct.py OUT_DIR RAW NX NY NZ SX SY SZ

Content: an elliptic body (soft tissue 40 HU, fat rim -100 HU) in air
(-1000 HU), a spine of vertebrae (cortical 1200 HU shell, 250 HU core),
ribs winding along z and two femur-like tubes, plus Gaussian noise (sd 15):
many bone surfaces at 300 HU, like a real trunk CT.
"""
import os, sys
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out, raw = sys.argv[1], sys.argv[2]
nx, ny, nz = (int(v) for v in sys.argv[3:6])
sx, sy, sz = (float(v) for v in sys.argv[6:9])
os.makedirs(out, exist_ok=True)
study, series, frame = generate_uid(), generate_uid(), generate_uid()
rng = np.random.default_rng(1)
j, i = np.mgrid[0:ny, 0:nx].astype(np.float32)
x, y = (i - nx / 2) * sx, (j - ny / 2) * sy
with open(raw, "wb") as rawf:
    for k in range(nz):
        z = k * sz
        hu = np.full((ny, nx), -1000.0, np.float32)
        body = (x / 160) ** 2 + (y / 115) ** 2
        hu[body <= 1.0] = -100
        hu[body <= 0.85] = 40
        # vertebra: a ring shell with a core, body position moves slowly
        vy = 60 + 5 * np.sin(z / 40)
        phase = (z % 30) / 30
        vr = 18 if phase < 0.8 else 10  # discs between vertebrae
        d = np.hypot(x, y - vy)
        hu[d <= vr] = 250
        hu[(d <= vr) & (d >= vr - 3)] = 1200
        # ribs: tubes along an ellipse at the level of each rib
        for side in (-1, 1):
            rib = np.abs(np.hypot(x / 140, (y - 20) / 95) - 1) * 120
            hu[(rib < 4) & ((z % 25) < 10) & (side * x > 0)] = 900
        # femur-like tubes
        for cx in (-70, 70):
            d = np.hypot(x - cx, y + 10)
            hu[(d <= 16) & (d >= 11)] = 1400
            hu[d < 11] = 100
        hu += rng.normal(0, 15, hu.shape).astype(np.float32)
        pixels = np.clip(np.round(hu), -1024, 3071).astype("<i2")
        rawf.write(pixels.tobytes())
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.PatientName, ds.PatientID = "Bench^Mesh", "BENCH-MESH"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.StudyDate, ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "20240101", "CT", 1, k + 1
        ds.ImagePositionPatient = [-(nx / 2) * sx, -(ny / 2) * sy, z]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness = [sy, sx], sz
        ds.Rows, ds.Columns = ny, nx
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.PixelData = pixels.tobytes()
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.save_as(os.path.join(out, "ct%04d.dcm" % k), write_like_original=False)
