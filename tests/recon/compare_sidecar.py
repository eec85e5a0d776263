#!/usr/bin/python3
"""Compares our BIDS sidecar with dcm2niix's: every field both files carry
must be equal (numbers within 1e-4 relative; AcquisitionTime as a time of
day within 1 ms, since some dcm2niix versions drop a leading zero). Not
compared: ConversionSoftware(Version) (ours says dcmfs), and a trailing
"MAGNITUDE" (newer dcm2niix versions) or "FIELDMAPHZ" that dcm2niix appends
to ImageType.
Usage: compare_sidecar.py OURS.json REF.json [...]; prints PASS/FAIL lines.
"""
import json
import sys

SKIP = {"ConversionSoftware", "ConversionSoftwareVersion"}


def seconds(t):
    h, m, s = t.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def equal(key, a, b):
    if key == "AcquisitionTime":
        return abs(seconds(a) - seconds(b)) < 1e-3
    if key == "ImageType":
        added = ("MAGNITUDE", "FIELDMAPHZ")  # appended by dcm2niix itself
        return [x for x in a if x not in added] == [x for x in b if x not in added]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-4 * max(1.0, abs(b))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return all(equal("", x, y) for x, y in zip(a, b))
    return a == b


def main(argv):
    ok = True
    for ours_path, ref_path in zip(argv[1::2], argv[2::2]):
        ours, ref = json.load(open(ours_path)), json.load(open(ref_path))
        shared = [k for k in ours if k in ref and k not in SKIP]
        bad = ["%s: %r vs %r" % (k, ours[k], ref[k]) for k in shared if not equal(k, ours[k], ref[k])]
        ok = ok and not bad
        print("%s %s %s %d shared fields %s" % ("FAIL" if bad else "PASS", ours_path, ref_path,
                                                len(shared), "; ".join(bad)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
