#!/usr/bin/python3
"""Writes the DICOM inputs of the IIIF tests and benchmark with pydicom + PIL
(tools written by others, so the mount is checked against independent bytes).

  iiif_data.py OUT_DIR [--wsi-size WxH] [--tile N] [--big-rgb WxH] [--no-small]

OUT_DIR/ct/        3 CT slices 600x400 int16, rescale -1024, window 40/400,
                   instance numbers opposite to their spatial order
OUT_DIR/mf/        one multi-frame MONOCHROME2 uint8 instance, 2 frames, no window
                   (modality OT: left out of /anonymized unless --mf-no-burned-in)
OUT_DIR/wsi/       a VL Whole Slide Microscopy pyramid (TILED_FULL, JPEG
                   baseline frames, levels 1/1, 1/2, 1/4 ...) of --wsi-size
                   (--wsi-raw: also its base level as raw RGB, wsi/base.rgb)
OUT_DIR/big/       one native RGB secondary-capture image of --big-rgb (bench)
"""
import argparse
import io
import os

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid

WSI_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"
CT_CLASS = "1.2.840.10008.5.1.4.1.1.2"
SC_CLASS = "1.2.840.10008.5.1.4.1.1.7"
MF_CLASS = "1.2.840.10008.5.1.4.1.1.7.2"  # Multi-frame Grayscale Byte SC
PREFIX = "1.2.826.0.1.3680043.8.498."  # pydicom's root


def base_dataset(sop_class, study, series, modality, number):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid(PREFIX)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.PatientName = "Iiif^Test"
    ds.PatientID = "IIIF1"
    ds.StudyDate = "20240101"
    ds.Modality = modality
    ds.SeriesNumber = number
    ds.SeriesDescription = "iiif " + modality
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    return ds


def save(ds, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, write_like_original=False)


def pattern(w, h, seed):
    """A smooth colour pattern with structure at several scales (built in
    bands of rows so that a 20000 x 15000 image fits in memory)."""
    out = np.empty((h, w, 3), np.uint8)
    x = np.arange(w, dtype=np.float32)[None, :]
    for y0 in range(0, h, 512):
        y = np.arange(y0, min(h, y0 + 512), dtype=np.float32)[:, None]
        r = 128 + 100 * np.sin(x / 37.0 + seed) + 0 * y
        g = 128 + 100 * np.cos(y / 23.0) + 0 * x
        b = 128 + 100 * np.sin((x + y) / 101.0)
        band = np.stack([r, g, b], axis=-1)
        band[((x // 64 + y // 64) % 2 == 0)] *= 0.7  # checkerboard of 64 px
        out[y0:y0 + band.shape[0]] = np.clip(band, 0, 255).astype(np.uint8)
    return out


def write_ct(out, study):
    series = generate_uid(PREFIX)
    rng = np.random.default_rng(1)
    for k in range(3):
        ds = base_dataset(CT_CLASS, study, series, "CT", 2)
        ds.InstanceNumber = 3 - k  # opposite to z: the manifest must follow z
        ds.ImagePositionPatient = [0, 0, 10.0 * k]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.5, 0.5]
        ds.Rows, ds.Columns = 400, 600
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        ds.WindowCenter = [40, 400]
        ds.WindowWidth = [400, 2000]
        y, x = np.mgrid[0:400, 0:600]
        hu = (x - 300) * 2 + k * 50 + rng.integers(-20, 20, size=(400, 600))
        ds.PixelData = (hu + 1024).astype("<i2").tobytes()
        save(ds, f"{out}/ct/{k}.dcm")


def write_multiframe(out, study, no_burned_in=False):
    ds = base_dataset(MF_CLASS, study, generate_uid(PREFIX), "OT", 3)
    ds.InstanceNumber = 1
    if no_burned_in:
        ds.BurnedInAnnotation = "NO"
    ds.NumberOfFrames = 2
    ds.Rows, ds.Columns = 200, 300
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    y, x = np.mgrid[0:200, 0:300]
    frames = [(x % 256).astype(np.uint8), ((x + y) % 200 + 20).astype(np.uint8)]
    ds.PixelData = b"".join(f.tobytes() for f in frames)
    save(ds, f"{out}/mf/0.dcm")


def jpeg(tile):
    buf = io.BytesIO()
    Image.fromarray(tile).save(buf, format="JPEG", quality=90, subsampling=2)
    return buf.getvalue()


def write_wsi(out, study, width, height, tile, raw=False):
    series = generate_uid(PREFIX)
    base = pattern(width, height, 0)
    level, w, h = 0, width, height
    image = Image.fromarray(base)
    while True:
        arr = np.asarray(image.resize((w, h), Image.BOX)) if level else base
        across, down = -(-w // tile), -(-h // tile)
        frames = []
        for row in range(down):
            for col in range(across):
                t = np.zeros((tile, tile, 3), np.uint8)  # edge tiles padded
                part = arr[row * tile:(row + 1) * tile, col * tile:(col + 1) * tile]
                t[:part.shape[0], :part.shape[1]] = part
                frames.append(jpeg(t))
        ds = base_dataset(WSI_CLASS, study, series, "SM", 4)
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds.ImageType = ["DERIVED", "PRIMARY", "VOLUME", "NONE" if level == 0 else "RESAMPLED"]
        ds.InstanceNumber = level + 1
        ds.Rows, ds.Columns = tile, tile
        ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows = w, h
        ds.NumberOfFrames = len(frames)
        ds.DimensionOrganizationType = "TILED_FULL"
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.PlanarConfiguration = 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelRepresentation = 0
        ds.PixelData = encapsulate(frames)
        ds["PixelData"].is_undefined_length = True
        save(ds, f"{out}/wsi/level-{level}.dcm")
        if level == 0 and raw:  # the base pixels, for other tilers (bench)
            arr.tofile(f"{out}/wsi/base.rgb")
        if w <= tile and h <= tile:
            break
        level, w, h = level + 1, max(1, w // 2), max(1, h // 2)


def write_big_rgb(out, study, width, height):
    ds = base_dataset(SC_CLASS, study, generate_uid(PREFIX), "OT", 5)
    ds.InstanceNumber = 1
    ds.Rows, ds.Columns = height, width
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    ds.PixelData = pattern(width, height, 1).tobytes()
    save(ds, f"{out}/big/0.dcm")


def size(text):
    w, h = text.lower().split("x")
    return int(w), int(h)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--wsi-size", type=size, default=(1100, 900))
    p.add_argument("--tile", type=int, default=256)
    p.add_argument("--big-rgb", type=size)
    p.add_argument("--no-small", action="store_true")
    p.add_argument("--wsi-raw", action="store_true", help="also write wsi/base.rgb")
    p.add_argument("--mf-no-burned-in", action="store_true",
                   help="BurnedInAnnotation NO on the multi-frame (kept in /anonymized)")
    a = p.parse_args()
    study = generate_uid(PREFIX)
    if not a.no_small:
        write_ct(a.out, study)
        write_multiframe(a.out, study, a.mf_no_burned_in)
    if a.wsi_size[0] > 0:
        write_wsi(a.out, study, a.wsi_size[0], a.wsi_size[1], a.tile, a.wsi_raw)
    if a.big_rgb:
        write_big_rgb(a.out, study, *a.big_rgb)


if __name__ == "__main__":
    main()
