#!/usr/bin/python3
"""Writes the DICOM inputs of dicom_parse_test with pydicom, an encoder
independent of DCMTK. Usage: make_parse_cases.py OUT_DIR"""
import sys
import os

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (ExplicitVRLittleEndian, ExplicitVRBigEndian,
                         ImplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID)

OUT = sys.argv[1]
CT = "1.2.840.10008.5.1.4.1.1.2"


def base(sop="1.2.3.4.5.6.7.1", charset=None):
    ds = Dataset()
    if charset is not None:
        ds.SpecificCharacterSet = charset
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = sop
    ds.StudyDate = "20240102"
    ds.SeriesDate = "20240103"
    ds.AcquisitionDate = "20240104"
    ds.ContentDate = "20240105"
    ds.StudyTime = "101112.5"
    ds.SeriesTime = "101213"
    ds.AcquisitionTime = "101314"
    ds.ContentTime = "101415"
    ds.AccessionNumber = "ACC42"
    ds.Modality = "CT"
    ds.StudyDescription = "Head/Neck"
    ds.SeriesDescription = "Axial 1.0 "
    ds.PatientName = "Doe^John"
    ds.PatientID = "PID7 "
    ds.IssuerOfPatientID = "HOSP"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "M"
    ds.SliceThickness = "1.25"
    ds.SpacingBetweenSlices = "1.5"
    ds.StudyInstanceUID = "1.2.3.4.5.6.1"
    ds.SeriesInstanceUID = "1.2.3.4.5.6.2"
    ds.StudyID = "S1"
    ds.SeriesNumber = "12"
    ds.InstanceNumber = "-3"
    ds.ImagePositionPatient = ["-100.5", "-120", "33.25"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = "1.2.3.4.5.6.3"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = 16
    ds.Columns = 8
    ds.PixelSpacing = ["0.5", "0.75"]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 1
    ds.BurnedInAnnotation = "NO"
    ds.WindowCenter = ["40", "400"]
    ds.WindowWidth = ["80", "2000"]
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.PixelData = bytes(range(256)) * 1  # 16*8*2 bytes
    return ds


def save(ds, name, ts=ExplicitVRLittleEndian, part10=True):
    path = os.path.join(OUT, name)
    if part10:
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.get("SOPClassUID", CT)
        meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID", "1.2.3")
        meta.TransferSyntaxUID = ts
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta
        ds.preamble = b"\0" * 128
    ds.is_little_endian = ts != ExplicitVRBigEndian
    ds.is_implicit_VR = ts == ImplicitVRLittleEndian
    ds.save_as(path, write_like_original=not part10)


save(base(), "basic.dcm")
save(base(sop="1.2.3.4.5.6.7.2"), "big_endian.dcm", ts=ExplicitVRBigEndian)
save(base(sop="1.2.3.4.5.6.7.3"), "raw_implicit.dcm", ts=ImplicitVRLittleEndian,
     part10=False)

ds = base(sop="1.2.3.4.5.6.7.4", charset="ISO_IR 100")
ds.PatientName = "Müller^Jürgen"
ds.StudyDescription = "Schädel"
save(ds, "latin1.dcm")

ds = base(sop="1.2.3.4.5.6.7.5", charset="ISO_IR 192")
ds.PatientName = "山田^太郎=やまだ^たろう"
ds.SeriesDescription = "Ærøskøbing ✓"
save(ds, "utf8.dcm")

# Declared UTF-8 but holding Latin-1 bytes: must come out as U+FFFD, not raw.
ds = base(sop="1.2.3.4.5.6.7.6", charset="ISO_IR 192")
save(ds, "bad_utf8.dcm")
with open(os.path.join(OUT, "bad_utf8.dcm"), "rb") as f:
    data = f.read()
data = data.replace(b"Doe^John", b"D\xf6e^John")
with open(os.path.join(OUT, "bad_utf8.dcm"), "wb") as f:
    f.write(data)

ds = base(sop="1.2.3.4.5.6.7.7")
ds.NumberOfFrames = "2"
ds.PixelData = bytes(512)
save(ds, "multiframe.dcm")

ds = base(sop="1.2.3.4.5.6.7.8")
del ds.PixelData
del ds.RescaleSlope
del ds.RescaleIntercept
del ds.ImagePositionPatient
del ds.SeriesNumber
save(ds, "no_pixels.dcm")

ds = base()
del ds.SOPInstanceUID
save(ds, "no_sop.dcm")
ds = base()
del ds.StudyInstanceUID
del ds.SeriesInstanceUID
save(ds, "no_study_series.dcm")

# A big Pixel Data value, to check it is skipped without harm.
ds = base(sop="1.2.3.4.5.6.7.9")
ds.Rows = 512
ds.Columns = 512
ds.PixelData = bytes(512 * 512 * 2)
save(ds, "large.dcm")

ds = Dataset()
ds.FileSetID = "TEST"
ds.DirectoryRecordSequence = []
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
meta.MediaStorageSOPInstanceUID = "1.2.3.99"
meta.TransferSyntaxUID = ExplicitVRLittleEndian
meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
ds.file_meta = meta
ds.preamble = b"\0" * 128
ds.is_little_endian = True
ds.is_implicit_VR = False
ds.save_as(os.path.join(OUT, "DICOMDIR"), write_like_original=False)


# Deflated Explicit VR Little Endian (PS3.5 A.5): a normal one, with a blank
# 1024x1024 image that deflates ~1000x, must parse; a "deflate bomb" (the
# same header followed by 48 MB of deflated zeros, read as endless
# (0000,0000) elements) must be refused quickly, not parsed for seconds.
import zlib
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian

ds = base(sop="1.2.3.4.5.6.7.10")
ds.Rows = 1024
ds.Columns = 1024
ds.PixelData = bytes(1024 * 1024 * 2)
save(ds, "deflated_blank.dcm", ts=DeflatedExplicitVRLittleEndian)

with open(os.path.join(OUT, "deflated_blank.dcm"), "rb") as f:
    data = f.read()
group_length = int.from_bytes(data[140:144], "little")  # (0002,0000) UL value
header = data[:144 + group_length]
ds = base(sop="1.2.3.4.5.6.7.11")
del ds.PixelData
fp = DicomBytesIO()
fp.is_little_endian = True
fp.is_implicit_VR = False
write_dataset(fp, ds)
packer = zlib.compressobj(9, zlib.DEFLATED, -15)
body = packer.compress(fp.getvalue())
zeros = bytes(1 << 20)
for _ in range(48):
    body += packer.compress(zeros)
body += packer.flush()
with open(os.path.join(OUT, "deflate_bomb.dcm"), "wb") as f:
    f.write(header + body)
