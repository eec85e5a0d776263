// The PHI check of the anonymized view, shared by the mounted tests: a
// Python script (pydicom is the independent reader) that harvests PHI from
// original DICOM files and scans an anonymized tree for it, every file's
// bytes (DICOM headers, derived files' text parts, IIIF files), and a C++
// wrapper that parses its findings.
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/fixture.h"

namespace dcmfs::testing {

// harvest OUT ORIGINALS... | scan HARVEST ANON_ROOT (see the findings below).
inline constexpr const char* kCheckScript = R"PY(
# Harvests PHI from original DICOM files and scans an anonymized tree for it.
#   harvest OUT ORIGINALS...   writes OUT (JSON: strings, pixel keys -> UIDs)
#   scan HARVEST ANON_ROOT     prints one line per finding, then totals
import hashlib, json, os, re, subprocess, sys
import pydicom

PHI_TAGS = ["PatientName", "PatientID", "PatientBirthDate", "AccessionNumber",
            "InstitutionName", "ReferringPhysicianName", "StudyID", "OtherPatientIDs",
            "PatientAddress", "InstitutionAddress", "PerformingPhysicianName",
            "OperatorsName", "PhysiciansOfRecord", "RequestingPhysician"]
UID_TAGS = ["SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"]
# Placeholders that de-identifiers (ours included) write themselves; an
# original holding one of them proves nothing when it shows up again.
STOP = {"ANON", "ANONYMOUS", "ANONYMIZED", "ANONYMISED", "UNKNOWN", "NONE", "REMOVED",
        "DEIDENTIFIED", "YES", "NO", "TEST", "DUMMY", "PATIENT"}
# Words the view's own paths are made of: a test patient named "Iiif^Test"
# is not found in every iiif/ folder.
STOP |= {"IIIF", "MESH", "AXIAL", "CORONAL", "SAGITTAL", "SERIES", "MANIFEST", "INFO",
         "FULL", "DEFAULT", "PREVIEW", "STUDY-MANIFEST"}

def texts(value):
    out = []
    if value is None: return out
    if isinstance(value, pydicom.multival.MultiValue):
        for v in value: out += texts(v)
        return out
    s = str(value).strip().strip("\0").strip()
    if not s: return out
    out.append(s)
    if "^" in s or "=" in s:  # person name: each component too
        for part in s.replace("=", "^").split("^"):
            if part.strip(): out.append(part.strip())
    return out

# Attributes the profile keeps (K) that may repeat a harvested value: a
# manufacturer that is also written as InstitutionName, or DCMTK's own
# ImplementationVersionName "OFFIS_DCMTK_...", or a PatientID "123456" that
# another file uses as SeriesNumber. Such a value is public.
PUBLIC_TAGS = ["Manufacturer", "ManufacturerModelName", "SoftwareVersions", "SeriesNumber",
               "InstanceNumber", "AcquisitionNumber"]
PUBLIC = {"OFFIS_DCMTK", "DCMTK", "PYDICOM", "GDCM"}

def public_strings(ds):
    out = set()
    for tag in PUBLIC_TAGS:
        try: out.update(t.upper() for t in texts(ds.get(tag)))
        except Exception: pass
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        out.update(t.upper() for t in texts(meta.get("ImplementationVersionName")))
    return out

def worth_scanning(s):
    if s.upper() in STOP: return False
    if s.replace(".", "").isdigit() and "." in s:  # a UID
        return len(s) >= 8 and not s.startswith("1.2.840.10008.")
    if s.isdigit(): return len(s) >= 6
    return len(s) >= 4

def pixel_key(ds):
    px = ds.get("PixelData")
    if px is None: return None
    return hashlib.sha256(bytes(ds.PixelData)).hexdigest() + "|" + str(ds.get("InstanceNumber", ""))

def dicom_files(paths):
    for root in paths:
        if os.path.isfile(root):
            yield root
            continue
        for d, _, files in os.walk(root):
            for f in files: yield os.path.join(d, f)

def harvest(out_path, roots):
    strings, pixels, public = set(), {}, set(PUBLIC)
    n = 0
    for p in dicom_files(roots):
        try:
            ds = pydicom.dcmread(p)
        except Exception:
            continue  # not DICOM: quarantined by ingest, never in the view
        n += 1
        public.update(public_strings(ds))
        for tag in PHI_TAGS + UID_TAGS:
            try: value = ds.get(tag)
            except Exception: continue
            for s in texts(value):
                if worth_scanning(s): strings.add(s)
        try: key = pixel_key(ds)
        except Exception: key = None
        if key:
            uids = {t: str(ds.get(t, "")) for t in UID_TAGS}
            pixels.setdefault(key, []).append(uids)
    strings = {s for s in strings if not any(s.upper() in p for p in public)}
    with open(out_path, "w") as f:
        json.dump({"strings": sorted(strings), "pixels": pixels}, f)
    print(f"HARVESTED {n} files {len(strings)} strings")

def encodings(s):
    out = {s.encode("utf-8")}
    for enc in ("latin-1", "iso2022_jp", "gb18030"):
        try: out.add(s.encode(enc))
        except Exception: pass
    return out

# A number is found only where it stands alone: a mapped UID is 2.25 and 39
# random digits, and a six-digit PatientID turns up inside one of the
# corpus' thousands of them by chance (it did, in CI). A UID component or a
# number inside text is still found.
def needle(s):
    if not s.isdigit(): return (s, encodings(s), None)
    e = re.escape(s.encode())
    return (s, (), re.compile(rb"(?<![0-9])" + e + rb"(?![0-9])"))

def scan_bytes(data, needles):
    return [s for s, encs, num in needles
            if (num.search(data) if num else any(e in data for e in encs))]

def found_in_name(s, name):
    if not s.isdigit(): return s in name
    return re.search(r"(?<![0-9])" + re.escape(s) + r"(?![0-9])", name) is not None

def is_date(s):
    if len(s) != 8 or not s.isdigit(): return False
    y, m, d = int(s[:4]), int(s[4:6]), int(s[6:])
    return 1800 <= y <= 2200 and 1 <= m <= 12 and 1 <= d <= 31

# Dates are shifted per patient (Modified Dates Option), so a shifted
# StudyDate can land on the day another corpus patient was born (it did, in
# CI). A harvested date counts only where a shift cannot have put it: any
# element other than a shifted date (DA/DT), or PatientBirthDate itself,
# which the profile empties.
def date_coincidence(ds, s):
    if not is_date(s): return False
    b = s.encode()
    for e in ds.iterall():
        if e.tag == 0x00100030:
            if b in str(e.value).encode(): return False
            continue
        if e.VR in ("DA", "DT", "SQ"): continue
        v = e.value
        raw = v if isinstance(v, (bytes, bytearray)) else str(v).encode("utf-8", "replace")
        if b in raw: return False
    meta = getattr(ds, "file_meta", None)
    if meta is not None and any(b in str(e.value).encode() for e in meta): return False
    return True

def check_dicom(path, data, needles, pixels, pairs, counts):
    r = subprocess.run(["dcmdump", "-q", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        print(f"DCMDUMP_FAIL {path} {r.stderr[:200]!r}")
    try:
        ds = pydicom.dcmread(path)
        px = bytes(ds.PixelData) if "PixelData" in ds else b""
    except Exception as e:
        print(f"PYDICOM_FAIL {path} {e}"); return
    if str(ds.get("PatientIdentityRemoved", "")) != "YES":
        print(f"NOT_REMOVED {path}")
    # The pixel data is the original's, byte for byte; a coincidental match
    # inside it is not PHI that de-identification could have removed.
    at = data.find(px) if px else -1
    header = data if at < 0 else data[:at] + b"\0" + data[at + len(px):]
    for s in scan_bytes(header, needles):
        if not date_coincidence(ds, s): print(f"PHI_BYTES {path} {s!r}")
    key = pixel_key(ds) if px else None
    originals = pixels.get(key, []) if key else []
    if len(originals) == 1:
        counts["matched"] += 1
        for t, orig in originals[0].items():
            if orig: pairs.setdefault(t, set()).add((orig, str(ds.get(t, ""))))
    elif key:
        counts["unmatched"] += 1
        print(f"UNMATCHED {path} ({len(originals)} originals share its pixels)")

def text_part(name, data):
    # Where text can hide in a derived file: the NIfTI header (descrip, intent,
    # aux_file), the STL header, PNG chunks other than the compressed pixels.
    # Voxels and compressed pixels are left out: a short harvested string
    # turns up in megabytes of binary by chance.
    if name.endswith(".nii"): return data[:352]
    if name.endswith(".stl"): return data[:80]
    if name.endswith(".json"):
        # Values only: a key such as "Modality" is not patient data even if
        # some test file put that word into a name field.
        try:
            values = []
            def walk(v):
                if isinstance(v, dict):
                    for x in v.values(): walk(x)
                elif isinstance(v, list):
                    for x in v: walk(x)
                else: values.append(str(v))
            walk(json.loads(data))
            return "\n".join(values).encode("utf-8")
        except ValueError:
            return data
    if name.endswith(".png"):
        out, i = b"", 8
        while i + 8 <= len(data):
            n = int.from_bytes(data[i:i + 4], "big"); kind = data[i + 4:i + 8]
            if kind != b"IDAT": out += data[i:i + 12 + n]
            i += 12 + n
        return out
    if name.endswith(".jpg"):
        # Marker segments up to Start of Scan (COM and APPn hold text).
        i = 2
        while i + 4 <= len(data) and data[i] == 0xFF and data[i + 1] != 0xDA:
            i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
        return data[:i]
    if name.endswith(".webp"):
        out, i = data[:12], 12
        while i + 8 <= len(data):
            kind, n = data[i:i + 4], int.from_bytes(data[i + 4:i + 8], "little")
            if kind not in (b"VP8 ", b"VP8L", b"ALPH"): out += data[i:i + 8 + n]
            i += 8 + n + (n & 1)
        return out
    return data

def iiif_part(root, p):
    """The path below iiif/<id>/ ("" for other files), None if not IIIF."""
    parts = os.path.relpath(p, root).split(os.sep)
    if parts[-1] == "manifest.json": return ""
    if "iiif" not in parts: return None
    return "/".join(parts[parts.index("iiif") + 2:])

def scan(harvest_path, root, all_tiles):
    with open(harvest_path) as f: h = json.load(f)
    needles = [needle(s) for s in h["strings"]]
    lowered = [s.lower() for s in h["strings"]]
    pairs, counts = {}, {"files": 0, "dcm": 0, "matched": 0, "unmatched": 0, "derived": 0,
                         "iiif": 0}
    for d, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(d, root).lower()
        for s in lowered:
            if found_in_name(s, rel_dir): print(f"PHI_PATH {d} {s!r}")
        for name in files:
            p = os.path.join(d, name)
            tile = iiif_part(root, p)
            # Every IIIF file renders pixels when read: a big corpus reads the
            # JSON and the full-image sizes of each service, not every tile.
            if tile and not all_tiles and not tile.startswith("full/"): continue
            counts["files"] += 1
            counts["iiif"] += tile is not None
            try:
                with open(p, "rb") as fh: data = fh.read()
            except OSError as e:
                print(f"READ_FAIL {p} {e}"); continue
            if os.stat(p).st_size != len(data):
                print(f"SIZE_MISMATCH {p} stat {os.stat(p).st_size} read {len(data)}")
            for s in lowered:
                if found_in_name(s, name.lower()): print(f"PHI_PATH {p} {s!r}")
            if name.endswith(".dcm"):
                counts["dcm"] += 1
                check_dicom(p, data, needles, h["pixels"], pairs, counts)
            else:
                counts["derived"] += name.endswith((".nii", ".png", ".stl", ".json", ".jpg"))
                for s in scan_bytes(text_part(name, data), needles): print(f"PHI_BYTES {p} {s!r}")
    for tag, ps in pairs.items():
        fwd, back = {}, {}
        for orig, new in ps:
            fwd.setdefault(orig, set()).add(new); back.setdefault(new, set()).add(orig)
        for orig, news in fwd.items():
            if len(news) != 1: print(f"UID_INCONSISTENT {tag} one original -> {len(news)} new")
        for new, origs in back.items():
            if len(origs) != 1: print(f"UID_INCONSISTENT {tag} {len(origs)} originals -> {new}")
            if not new.startswith("2.25."): print(f"UID_NOT_2_25 {tag} {new}")
    print(" ".join(f"{k.upper()} {v}" for k, v in counts.items()))

if __name__ == "__main__":
    if sys.argv[1] == "harvest": harvest(sys.argv[2], sys.argv[3:])
    else: scan(sys.argv[2], sys.argv[3], "all-tiles" in sys.argv[4:])
)PY";

// What the scan found: totals and every finding line (a finding is a failure).
struct ScanResult {
  std::map<std::string, uint64_t> totals;  // FILES, DCM, MATCHED, UNMATCHED, DERIVED, IIIF
  std::vector<std::string> findings;
  std::string output;
};

inline ScanResult ParseScan(const std::string& output) {
  ScanResult r;
  r.output = output;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("FILES ")) {
      std::istringstream fields(line);
      std::string key;
      uint64_t value = 0;
      while (fields >> key >> value) r.totals[key] = value;
    } else if (!line.empty()) {
      r.findings.push_back(line);
    }
  }
  return r;
}

inline std::string Joined(const std::vector<std::string>& lines, size_t max = 40) {
  std::string out;
  for (size_t i = 0; i < lines.size() && i < max; ++i) out += lines[i] + "\n";
  if (lines.size() > max) out += "... " + std::to_string(lines.size() - max) + " more\n";
  return out;
}

class Checker {
 public:
  explicit Checker(const TempDir& dir)
      : script_(dir.Sub("anon_check.py")), harvest_(dir.Sub("phi.json")) {
    std::ofstream(script_) << kCheckScript;
  }
  // Harvests PHI from `originals`; returns the script's output.
  CommandResult Harvest(const std::string& originals) const {
    return Shell("/usr/bin/python3 " + Q(script_) + " harvest " + Q(harvest_) + " " + Q(originals));
  }
  // `all_tiles`: read every IIIF tile too (else only the full-image sizes).
  ScanResult Scan(const std::string& anon_root, bool all_tiles = true) const {
    CommandResult r = Shell("/usr/bin/python3 " + Q(script_) + " scan " + Q(harvest_) + " " +
                            Q(anon_root) + (all_tiles ? " all-tiles" : ""));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return ParseScan(r.output);
  }

 private:
  std::string script_, harvest_;
};

}  // namespace dcmfs::testing
