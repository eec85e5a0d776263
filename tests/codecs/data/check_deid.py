#!/usr/bin/python3
"""Checks de-identified files against PS3.15 Annex E Table E.1-1 with pydicom,
a reader independent of the DCMTK writer under test. Default options only
(Basic Profile + Retain Longitudinal Temporal Information with Modified
Dates). Combined actions accept every choice the standard allows.

Usage: check_deid.py ANNEX_E_JSON SECRET PATIENT_KEY IN OUT [IN OUT ...]
Prints one line per failure; exit status 1 if any.
"""
import datetime
import hashlib
import hmac
import json
import sys

import pydicom

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg)


def load_table(path):
    rows = json.load(open(path))["attributes"]
    table, masked = {}, []
    for r in rows:
        action = r["options"].get("retain-long-modified-dates", r["basic"])
        if r.get("private"):
            continue
        if "mask" in r:
            masked.append((int(r["mask_bits"], 16), int(r["mask"], 16), action))
        else:
            table[int(r["group"] + r["element"], 16)] = action
    return table, masked


def action_of(tag, table, masked):
    if tag in table:
        return table[tag]
    for bits, value, action in masked:
        if tag & bits == value & bits:
            return action
    return None


def hm(secret, msg):
    return hmac.new(secret.encode(), msg.encode(), hashlib.sha256).digest()


def map_uid(secret, uid):
    return "2.25." + str(int.from_bytes(hm(secret, "uid:" + uid)[:16], "big"))


def pseudonym(secret, key):
    bits = int.from_bytes(hm(secret, "patient:" + key)[:8], "big")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "ANON" + "".join(alphabet[(bits >> (59 - 5 * i)) & 31] for i in range(10))


def shift_days(secret, key):
    return -(365 + int.from_bytes(hm(secret, "date:" + key)[:8], "big") % 3286)


def shift(date, days):
    d = datetime.date(int(date[:4]), int(date[4:6]), int(date[6:8]))
    return (d + datetime.timedelta(days=days)).strftime("%Y%m%d") + date[8:]


def values(elem):
    v = elem.value
    if v is None or v == "":
        return []
    if isinstance(v, pydicom.multival.MultiValue):
        return [str(x) for x in v]
    return [str(v)]


def harvest(ds, out):
    for elem in ds:
        if elem.VR == "SQ":
            for it in elem.value:
                harvest(it, out)
        else:
            out.setdefault(elem.tag, set()).update(values(elem))


def check_elem(elem, orig, ctx):
    tag = int(elem.tag)
    where = "%s %s %s" % (ctx["name"], elem.tag, elem.keyword)
    if elem.tag.is_private:
        return fail(where + ": private attribute kept")
    action = action_of(tag, *ctx["table"])
    if action is None:
        if elem.VR == "PN":
            fail(where + ": unlisted PN kept")
        return
    vals = values(elem) if elem.VR != "SQ" else []
    before = orig.get(elem.tag, set())
    if action == "X":
        return fail(where + ": X attribute present")
    if elem.tag in (0x00100010, 0x00100020):
        if vals != [ctx["pseudonym"]]:
            fail(where + ": not the pseudonym: %r" % vals)
        return
    if action == "U" or action == "X/Z/U*":
        for v in vals:
            if v not in {map_uid(ctx["secret"], u) for u in before}:
                fail(where + ": UID %s is not the mapping of an original" % v)
    elif action == "C":
        for v in vals:
            if elem.VR in ("DA", "DT"):
                if v not in {shift(u, ctx["days"]) for u in before}:
                    fail(where + ": %s is not a shifted original date" % v)
            elif elem.VR == "TM" and v not in before:
                fail(where + ": time changed")
    elif action == "K":
        pass
    else:  # Z, D and the combined choices: no original value survives
        if "D" not in action and vals:
            fail(where + ": %s should be empty" % action)
        if action == "D" and elem.VR != "SQ" and not vals:
            fail(where + ": D left empty")
        for v in vals:
            if v in before:
                fail(where + ": original value kept under " + action)


def walk(ds, orig, ctx):
    for elem in ds:
        check_elem(elem, orig, ctx)
        if elem.VR == "SQ":
            for it in elem.value:
                walk(it, orig, ctx)


def check_pair(inp, out, ctx):
    src = pydicom.dcmread(inp)
    dst = pydicom.dcmread(out)
    ctx["name"] = out
    orig = {}
    harvest(src, orig)
    walk(dst, orig, ctx)
    if dst.get("PatientIdentityRemoved") != "YES":
        fail(out + ": PatientIdentityRemoved is not YES")
    codes = [it.CodeValue for it in dst.get("DeidentificationMethodCodeSequence", [])]
    if codes != ["113100", "113107"]:
        fail(out + ": method codes %r" % codes)
    if dst.get("LongitudinalTemporalInformationModified") != "MODIFIED":
        fail(out + ": LongitudinalTemporalInformationModified not MODIFIED")
    if dst.file_meta.MediaStorageSOPInstanceUID != dst.SOPInstanceUID:
        fail(out + ": meta SOP Instance UID differs from the dataset's")
    if dst.SOPInstanceUID != map_uid(ctx["secret"], src.SOPInstanceUID):
        fail(out + ": SOPInstanceUID not mapped")
    if dst.file_meta.TransferSyntaxUID != src.file_meta.TransferSyntaxUID:
        fail(out + ": transfer syntax changed")
    if dst.PixelData != src.PixelData:
        fail(out + ": pixel data changed")
    if dst.StudyDate != shift(src.StudyDate, ctx["days"]):
        fail(out + ": StudyDate not shifted by %d days" % ctx["days"])
    return dst


def main():
    table_path, secret, key = sys.argv[1:4]
    ctx = {"table": load_table(table_path), "secret": secret,
           "pseudonym": pseudonym(secret, key), "days": shift_days(secret, key)}
    outs = {}
    pairs = sys.argv[4:]
    for i in range(0, len(pairs), 2):
        outs[pairs[i]] = check_pair(pairs[i], pairs[i + 1], ctx)
    # References between instances still resolve (E.1.1 "internally consistent").
    sops = {d.SOPInstanceUID for d in outs.values()}
    for name, d in outs.items():
        for seq in ("ReferencedImageSequence", "SourceImageSequence"):
            for it in d.get(seq, []):
                if it.ReferencedSOPInstanceUID not in sops:
                    fail(name + ": %s reference does not resolve" % seq)
    print("checked %d files" % len(outs))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
