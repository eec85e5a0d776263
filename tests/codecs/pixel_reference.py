#!/usr/bin/python3
"""Reference pixels for tests/codecs/pixel_corpus_test.cc, decoded by pydicom.

Usage: pixel_reference.py CORPUS_DIR OUT_DIR

Prints one tab-separated line per file that holds Pixel Data, Float Pixel
Data or Double Float Pixel Data (as pydicom sees it):
  path  transfer_syntax  frames  reference  tolerance  sampled_frames
reference is "pydicom" when pydicom decoded it (frames written to
OUT_DIR/<n>_<frame>.bin) or "none: <why>". Frames are brought to the layout
codecs/pixel_decode.h promises, by the standard rather than by our code:
monochrome stored bits masked and sign-extended from HighBit (PS3.5 8.1.1),
colour as 8-bit RGB (YBR_FULL converted by pydicom's convert_color_space,
PALETTE COLOR by its apply_color_lut, deeper samples keep their 8 high bits).
"""
import io
import os
import sys
import warnings

import numpy as np
from PIL import Image
import pydicom
from pydicom.pixel_data_handlers.util import apply_color_lut, convert_color_space

warnings.simplefilter("ignore")
LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.91",
         "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.203"}


def normalise_mono(ds, frame):
    if "PixelData" not in ds:  # float / double float pixel data
        return frame.astype("<f4")
    ba, bs = int(ds.BitsAllocated), int(ds.BitsStored)
    if ba == 1:
        return frame.astype(np.uint8)
    hb = int(getattr(ds, "HighBit", bs - 1))
    signed = int(getattr(ds, "PixelRepresentation", 0)) == 1
    a = frame.astype(np.int64) & ((1 << ba) - 1)
    a = (a >> max(0, hb + 1 - bs)) & ((1 << bs) - 1)
    if signed:
        a = np.where(a >= (1 << (bs - 1)), a - (1 << bs), a)
    return a.astype(("<i" if signed else "<u") + str(max(1, ba // 8)))


def normalise_colour(ds, frame, ts):
    pi = str(ds.PhotometricInterpretation)
    if pi == "PALETTE COLOR":
        rgb = apply_color_lut(frame, ds)
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        return (rgb >> 8 if bits > 8 else rgb).astype(np.uint8)
    ba, bs = int(ds.BitsAllocated), int(ds.BitsStored)
    if ba > 8:
        frame = (frame.astype(np.uint64) >> max(0, min(bs, ba) - 8)) & 0xFF
    frame = frame.astype(np.uint8)
    # pydicom returns YBR as stored for native/RLE data and (2.3) for JPEG
    # decoded by Pillow unless Pillow already converted it.
    if pi in ("YBR_FULL", "YBR_FULL_422"):
        frame = convert_color_space(frame, "YBR_FULL", "RGB")
    return frame


def jfif_frames_labelled_rgb(ds, ts, frames):
    """The encoded frames of 8-bit lossy JPEG labelled RGB whose bitstream
    says YCbCr (a JFIF APP0 marker, or Adobe APP14 with transform 1), as
    whole-slide converters write them; else None. For these, pydicom 2.3
    follows the label and returns the YCbCr samples as RGB (Pillow's
    draft('YCbCr')), while libjpeg, Pillow on the frame itself and OpenSlide
    follow the bitstream's markers; the reference is then Pillow's decode of
    the frame (a white slide background decodes white, not pink)."""
    if ts not in ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"):
        return None
    if str(getattr(ds, "PhotometricInterpretation", "")) != "RGB":
        return None
    encoded = list(pydicom.encaps.generate_pixel_data_frame(ds.PixelData, frames))
    head = encoded[0][:64]
    adobe = head.find(b"Adobe")
    if b"JFIF\0" in head or (adobe >= 0 and len(head) > adobe + 11 and head[adobe + 11] == 1):
        return encoded
    return None


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    n = 0
    for root, _, files in sorted(os.walk(corpus)):
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                ds = pydicom.dcmread(path, force=True)
            except Exception:
                continue
            if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
                continue
            meta = getattr(ds, "file_meta", None)
            ts = str(getattr(meta, "TransferSyntaxUID", "")) if meta else ""
            try:
                frames = max(1, int(getattr(ds, "NumberOfFrames", 1) or 1))
            except ValueError:  # garbage IS value: one frame, as DCMTK and we read it
                frames = 1
            sampled = sorted({0, frames // 2, frames - 1})
            ref = "pydicom"
            try:
                if ts.startswith("1.2.840.10008.1.2.4.9") and int(ds.BitsAllocated) == 1:
                    # pydicom 2.3's Pillow path returns garbage for 1-bit
                    # JPEG 2000 (liver_j2k.dcm); the corpus test compares that
                    # file with liver.dcm instead.
                    raise NotImplementedError("1-bit JPEG 2000 not decoded correctly by pydicom")
                arr = ds.pixel_array
                if frames == 1:
                    arr = arr[np.newaxis, ...]
                colour = int(getattr(ds, "SamplesPerPixel", 1)) == 3 or \
                    str(getattr(ds, "PhotometricInterpretation", "")) == "PALETTE COLOR"
                jfif = jfif_frames_labelled_rgb(ds, ts, frames)
                for f in sampled:
                    if jfif is not None:
                        a = np.asarray(Image.open(io.BytesIO(jfif[f])).convert("RGB"))
                    elif colour:
                        a = normalise_colour(ds, arr[f], ts)
                    else:
                        a = normalise_mono(ds, arr[f])
                    np.ascontiguousarray(a).tofile(os.path.join(out, "%d_%d.bin" % (n, f)))
            except Exception as e:  # pydicom has no decoder for it, or refuses the file
                ref = "none: " + type(e).__name__ + " " + str(e).replace("\t", " ").replace("\n", " ")[:80]
            tol = "lossy" if ts in LOSSY else "exact"
            print("\t".join([path, ts, str(frames), ref, tol, ",".join(map(str, sampled)), str(n)]))
            n += 1


if __name__ == "__main__":
    main()
