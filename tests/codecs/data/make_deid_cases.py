#!/usr/bin/python3
"""Writes the PHI-laden inputs of deidentify_test with pydicom, an encoder
independent of DCMTK. Usage: make_deid_cases.py OUT_DIR

OUT_DIR/a.dcm   CT, native pixels, every kind of PHI (names, IDs, dates,
                addresses, free text, nested sequences, private tags,
                curves/overlays, UIDs with embedded dates)
OUT_DIR/b.dcm   the same patient and study, another instance that references
                a.dcm; acquired two days later
OUT_DIR/c.dcm   encapsulated (fake JPEG fragments, 2 frames), same patient
OUT_DIR/p.dcm   private blocks: safe attributes of PS3.15 Table E.3.10-1
                (Siemens MR b value and gradient direction, GE scan pitch),
                an unlisted attribute in a safe creator's block and a block
                of another creator using a safe element byte, both with PHI
OUT_DIR/phi.txt every identifying string of the inputs, one a line: none may
                appear in a de-identified output
"""
import os
import struct
import sys

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit

OUT = sys.argv[1]
CT = "1.2.840.10008.5.1.4.1.1.2"
ROOT = "1.2.826.0.1.3680043.2.20240131."
STUDY, SERIES, FOR = ROOT + "1", ROOT + "2", ROOT + "5"
SOP_A, SOP_B, SOP_C, SOP_P = ROOT + "3", ROOT + "4", ROOT + "6", ROOT + "9"
PPS = ROOT + "77"
CREATOR_UID = ROOT + "88"

PHI = [
    "Smithson^Margaret^Q", "Smithson", "Margaret", "MRN99881", "STMARYS",
    "19610214", "42 Wallaby Way Sydney", "555-0142", "OLDMRN7731", "Kowalczyk",
    "ACC20240131X", "Saint Mary Memorial", "1 Hospital Road Springfield",
    "Whitfield", "Harold", "Okonkwo", "Adaeze", "Lindqvist", "Tove",
    "Carmichael", "Irena", "CTSCAN-ROOM7", "SN-8842291", "STUDY7781", "RPID5531",
    "SPS4471", "Brightwater", "Reviewer^Quinton", "Quinton", "ACME PHI",
    "secret note", "20240131", "20240201", "20240203",
    STUDY, SERIES, FOR, SOP_A, SOP_B, SOP_C, SOP_P, PPS, CREATOR_UID,
]


def item(**kw):
    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def base(sop, acq_date):
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = sop
    ds.InstanceCreationDate = "20240131"
    ds.InstanceCreatorUID = CREATOR_UID
    ds.StudyDate = "20240131"
    ds.SeriesDate = "20240131"
    ds.AcquisitionDate = acq_date
    ds.ContentDate = acq_date
    ds.AcquisitionDateTime = acq_date + "093015.123456"
    ds.StudyTime = "093015"
    ds.AccessionNumber = "ACC20240131X"
    ds.Modality = "CT"
    ds.InstitutionName = "Saint Mary Memorial"
    ds.InstitutionAddress = "1 Hospital Road Springfield"
    ds.ReferringPhysicianName = "Whitfield^Harold"
    ds.StationName = "CTSCAN-ROOM7"
    ds.StudyDescription = "CT chest for Margaret Smithson"
    ds.SeriesDescription = "Axial chest"
    ds.PerformingPhysicianName = "Okonkwo^Adaeze"
    ds.NameOfPhysiciansReadingStudy = "Carmichael^Ian"
    ds.OperatorsName = "Lindqvist^Tove"
    ds.ProcedureCodeSequence = Sequence([item(
        CodeValue="CTCHEST", CodingSchemeDesignator="99LOCAL", CodeMeaning="CT chest",
        PersonName="Brightwater^Ann")])  # an unlisted sequence holding a listed PN
    ds.ReferencedPerformedProcedureStepSequence = Sequence([item(
        ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.3", ReferencedSOPInstanceUID=PPS)])
    ds.PatientName = "Smithson^Margaret^Q"
    ds.PatientID = "MRN99881"
    ds.IssuerOfPatientID = "STMARYS"
    ds.PatientBirthDate = "19610214"
    ds.PatientSex = "F"
    ds.PatientAge = "062Y"
    ds.PatientSize = "1.65"
    ds.PatientWeight = "71.5"
    ds.PatientAddress = "42 Wallaby Way Sydney"
    ds.PatientTelephoneNumbers = "555-0142"
    ds.OtherPatientIDs = "OLDMRN7731"
    ds.PatientMotherBirthName = "Kowalczyk^Irena"
    ds.DeviceSerialNumber = "SN-8842291"
    ds.ProtocolName = "Chest Margaret"
    ds.StudyInstanceUID = STUDY
    ds.SeriesInstanceUID = SERIES
    ds.StudyID = "STUDY7781"
    ds.SeriesNumber = 3
    ds.InstanceNumber = 1
    ds.FrameOfReferenceUID = FOR
    ds.ImageComments = "Patient Margaret fell at home"
    ds.StudyComments = "called Harold at 555-0142"
    ds.RequestAttributesSequence = Sequence([item(
        RequestedProcedureID="RPID5531", ScheduledProcedureStepID="SPS4471",
        RequestedProcedureDescription="Chest for Smithson")])
    ds.add_new(0x00140104, "PN", "Reviewer^Quinton")  # SecondaryReviewerName: unlisted PN
    ds.add_new(0x00090010, "LO", "ACME PHI")  # private creator
    ds.add_new(0x00091001, "LO", "Margaret Smithson secret note")
    ds.add_new(0x00091002, "LO", "MRN99881")
    ds.add_new(0x60004000, "LT", "overlay drawn by Harold")  # Overlay Comments: X
    ds.add_new(0x50000022, "LO", "curve of Smithson")  # Curve Description: 50XX X
    ds.Rows = 8
    ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    return ds


def save(ds, name, ts):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.9.9999.1"
    meta.SourceApplicationEntityTitle = "CTSCAN-ROOM7"
    ds.file_meta = meta
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.save_as(os.path.join(OUT, name), write_like_original=False)


def main():
    os.makedirs(OUT, exist_ok=True)
    a = base(SOP_A, "20240201")
    a.PixelData = struct.pack("<64H", *[(i * 37) % 4096 for i in range(64)])
    save(a, "a.dcm", ExplicitVRLittleEndian)

    b = base(SOP_B, "20240203")
    b.InstanceNumber = 2
    b.ReferencedImageSequence = Sequence([item(ReferencedSOPClassUID=CT,
                                               ReferencedSOPInstanceUID=SOP_A)])
    b.SourceImageSequence = Sequence([item(ReferencedSOPClassUID=CT,
                                           ReferencedSOPInstanceUID=SOP_A)])
    b.PixelData = struct.pack("<64H", *[(i * 91) % 4096 for i in range(64)])
    save(b, "b.dcm", ExplicitVRLittleEndian)

    c = base(SOP_C, "20240201")
    c.InstanceNumber = 3
    c.BitsAllocated, c.BitsStored, c.HighBit = 8, 8, 7
    c.NumberOfFrames = 2
    frames = [b"\xff\xd8\xff\xdb" + bytes(range(40)) + b"\xff\xd9",
              b"\xff\xd8\xff\xdb" + bytes(range(60, 101)) + b"\xff\xd9"]
    c.PixelData = encapsulate(frames)
    c["PixelData"].is_undefined_length = True
    c["PixelData"].VR = "OB"
    save(c, "c.dcm", JPEGBaseline8Bit)

    p = base(SOP_P, "20240201")
    p.InstanceNumber = 4
    siemens = p.private_block(0x0019, "SIEMENS MR HEADER", create=True)  # (0019,0010)
    siemens.add_new(0x0C, "IS", "1000")                      # B Value: safe
    siemens.add_new(0x0E, "FD", [0.0, 0.6, 0.8])             # Diffusion Gradient Direction: safe
    siemens.add_new(0x08, "LO", "Smithson imaging note")     # not in the table
    acme = p.private_block(0x0019, "ACME PHI", create=True)  # (0019,0011)
    acme.add_new(0x0C, "LO", "MRN99881")                     # a safe byte, another creator
    ge = p.private_block(0x0043, "GEMS_PARM_01", create=True)
    ge.add_new(0x27, "SH", "1.375:1")                        # Scan Pitch Ratio: safe
    p.PixelData = struct.pack("<64H", *[(i * 13) % 4096 for i in range(64)])
    save(p, "p.dcm", ExplicitVRLittleEndian)

    with open(os.path.join(OUT, "phi.txt"), "w") as f:
        f.write("\n".join(PHI) + "\n")


if __name__ == "__main__":
    main()
