#!/usr/bin/python3
"""S3 (Ceph RGW) vs local blob backend, same machine, same input.

1. Ingest throughput of a synthetic 512x512 CT set (MB/s, median of N fresh
   archives), S3 vs local.
2. Cold `cat series.nii` of the largest CT series from a fresh mount with no
   derived cache (median of N), S3 vs local, and a raw `curl --aws-sigv4`
   GET of the same series' objects (one curl, connection reused): the
   transfer the S3 backend cannot beat here.
3. Bytes fetched from S3 (the mount's /.dcmfs/stats.json, blob_store
   .bytes_fetched, counted in the client) to read
   - one 256-pixel IIIF tile (0,0,256,256/256,) of the corpus slide, level 0
     from a fresh mount, vs the bytes of the stored tile (frame) that holds
     it in the original file (pydicom);
   - the same stored tile's bytes read straight from the mounted .dcm;
   - one slice's worth of series.nii (middle slice) from a fresh mount whose
     series plan is cached on disk, vs one slice's pixel bytes in the
     original file; and from a fresh mount with no cache at all.
4. The on-disk cache of fetched frames (ARCHIVE/blob-cache): the CT
   series' .dcm files read through one mount, then again after a remount
   (bytes fetched the second time: goal 0). A store that goes away is
   tested in tests/integration/s3_read_test.cc, not timed here.
"""
import argparse, glob, json, os, statistics, struct, subprocess, time

import pydicom
from pydicom.encaps import generate_pixel_data_frame

def run(cmd, env=None, **kw):
    return subprocess.run(cmd, check=True, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, **kw)

def med(xs): return statistics.median(xs)

ENV = None  # the S3 keys (the mount reads them from its environment)

class Mount:
    def __init__(self, dcmfs, archive, mnt, *extra):
        self.mnt = mnt
        os.makedirs(mnt, exist_ok=True)
        self.proc = subprocess.Popen([dcmfs, "mount", "-f", *extra, archive, mnt], env=ENV,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(1000):
            if os.path.ismount(mnt): return
            time.sleep(0.02)
        raise SystemExit("mount did not come up")
    def stats(self):
        time.sleep(1.1)  # the mount reuses a stats.json snapshot for 1 s
        with open(os.path.join(self.mnt, ".dcmfs/stats.json")) as f:
            return json.load(f)
    def fetched(self):
        return self.stats()["blob_store"]["bytes_fetched"]
    def requests(self):
        return self.stats()["blob_store"]["requests"]
    def close(self):
        subprocess.run(["fusermount3", "-u", self.mnt])
        self.proc.wait(timeout=60)

def env_of(path):
    env = dict(os.environ)
    for line in open(path):
        k, _, v = line.strip().partition("=")
        if k: env[k] = v
    return env

def s3_flags(env, prefix):
    return ["--s3-endpoint", env["S3_ENDPOINT"], "--s3-bucket", "bench",
            "--s3-region", env["S3_REGION"], "--s3-prefix", prefix]

def cat(path):
    n = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(1 << 20)
            if not b: return n
            n += len(b)

def ingest(a, env, archive, src, prefix=None):
    cmd = [a.dcmfs, "ingest", "--no-progress"] + (s3_flags(env, prefix) if prefix else []) + [archive, src]
    t = time.monotonic(); run(cmd, env=env); return time.monotonic() - t

def largest_series(src):
    by = {}
    for p in glob.glob(os.path.join(src, "**", "*"), recursive=True):
        if not os.path.isfile(p): continue
        ds = pydicom.dcmread(p, stop_before_pixels=True)
        if ds.Modality == "CT" and str(ds.file_meta.TransferSyntaxUID) == "1.2.840.10008.1.2.1":
            by.setdefault((ds.StudyInstanceUID, ds.SeriesInstanceUID), []).append(p)
    return max(by.items(), key=lambda kv: len(kv[1]))

BIG_DICOM = """
import sys, numpy as np, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
m = FileMetaDataset(); m.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7'
m.MediaStorageSOPInstanceUID = generate_uid(); m.TransferSyntaxUID = ExplicitVRLittleEndian
d = Dataset(); d.file_meta = m; d.is_little_endian = True; d.is_implicit_VR = False
d.SOPClassUID = m.MediaStorageSOPClassUID; d.SOPInstanceUID = m.MediaStorageSOPInstanceUID
d.PatientName = 'Big^Noise'; d.PatientID = 'BIG1'; d.Modality = 'OT'
d.StudyInstanceUID = generate_uid(); d.SeriesInstanceUID = generate_uid()
frames = int(sys.argv[2])
d.Rows, d.Columns, d.NumberOfFrames = 4096, 4096, frames
d.SamplesPerPixel = 1; d.PhotometricInterpretation = 'MONOCHROME2'
d.BitsAllocated = 16; d.BitsStored = 16; d.HighBit = 15; d.PixelRepresentation = 0
d.PixelData = np.random.default_rng(3).integers(0, 65536, frames * 4096 * 4096, dtype=np.uint16).tobytes()
d.save_as(sys.argv[1], write_like_original=False)
"""

def big_file_ingest(a, env, w):
    """One large incompressible file (noise): multipart upload, parts sequential vs in parallel."""
    src = os.path.join(w, "big"); os.makedirs(src)
    path = os.path.join(src, "big.dcm")
    run(["/usr/bin/python3", "-c", BIG_DICOM, path, str(max(1, a.big_mb // 32))])
    mb = os.path.getsize(path) / 1e6
    res = {}
    for label, parts in (("local", None), ("S3 1 part in flight", 1), ("S3 4 parts in flight", 4)):
        times = []
        for i in range(a.repeats):
            archive = os.path.join(w, f"big-{parts}-{i}")
            if parts:
                os.makedirs(archive)
                with open(os.path.join(archive, "store.conf"), "w") as f:
                    f.write(f"backend = s3\nendpoint = {env['S3_ENDPOINT']}\nbucket = bench\n"
                            f"region = {env['S3_REGION']}\nprefix = big{parts}-{i}/\n"
                            f"parallel_parts = {parts}\n")
            t = time.monotonic(); run([a.dcmfs, "ingest", "--no-progress", archive, src], env=env)
            times.append(time.monotonic() - t)
        res[label] = med(times)
    line = ", ".join(f"{k} {mb / v:.1f} MB/s" for k, v in res.items())
    print(f"ingest of one {mb:.0f} MB file (noise, multipart 16 MiB parts): {line}; "
          f"S3/local time ratio {res['S3 1 part in flight'] / res['local']:.2f} -> "
          f"{res['S3 4 parts in flight'] / res['local']:.2f}  (median of {a.repeats})")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dcmfs", required=True); ap.add_argument("--env", required=True)
    ap.add_argument("--work", required=True); ap.add_argument("--corpus", required=True)
    ap.add_argument("--ct-slices", type=int, default=160); ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--big-mb", type=int, default=256)
    ap.add_argument("--only", choices=["ingest"], help="only the ingest measurements")
    a = ap.parse_args()
    global ENV
    env = ENV = env_of(a.env)
    w = a.work; os.makedirs(w)
    src = os.path.join(w, "ct")
    run([a.dcmfs, "synth", src, "--rows", "512", "--columns", "512", "--ct-slices", str(a.ct_slices),
         "--mr-slices", "8"])
    mb = sum(os.path.getsize(p) for p in glob.glob(src + "/**/*", recursive=True) if os.path.isfile(p)) / 1e6
    print(f"input: synthetic set, {mb:.1f} MB ({a.ct_slices} CT slices of 512x512 per series)")

    # 1. ingest
    t_s3, t_local = [], []
    for i in range(a.repeats):
        t_local.append(ingest(a, env, os.path.join(w, f"local{i}"), src))
        t_s3.append(ingest(a, env, os.path.join(w, f"s3-{i}"), src, prefix=f"run{i}/"))
    print(f"ingest  local {mb / med(t_local):7.1f} MB/s   S3 {mb / med(t_s3):7.1f} MB/s   "
          f"S3/local time ratio {med(t_s3) / med(t_local):.2f}  (median of {a.repeats})")

    big_file_ingest(a, env, w)
    if a.only == "ingest":
        return

    # 2. cold series.nii
    (study, series), files = largest_series(src)
    rel = f"studies/{study}/{series}/series.nii"
    res = {}
    for name, archive in (("local", os.path.join(w, "local0")), ("S3", os.path.join(w, "s3-0"))):
        times = []
        for i in range(a.repeats):
            m = Mount(a.dcmfs, archive, os.path.join(w, "mnt"), "--no-persistent-cache")
            try:
                t = time.monotonic(); n = cat(os.path.join(m.mnt, rel)); times.append(time.monotonic() - t)
                st = m.stats()["blob_store"]
                fetched, requests = st["bytes_fetched"], st["requests"]
            finally:
                m.close()
        res[name] = (med(times), n, fetched, requests)
    objs = []
    for p in files:
        h = run(["sha256sum", p]).stdout[:64]
        objs.append(f"{env['S3_ENDPOINT']}/bench/run0/blobs/{h[:2]}/{h}.zst")
    curl_t = []
    for _ in range(a.repeats):
        t = time.monotonic()
        run(["curl", "-sS", "--fail", "--aws-sigv4", f"aws:amz:{env['S3_REGION']}:s3", "--user",
             f"{env['S3_ACCESS_KEY']}:{env['S3_SECRET_KEY']}", "-H",
             "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-o", "/dev/null"] +
            sum((["-o", "/dev/null", u] for u in objs[1:]), [objs[0]]))
        curl_t.append(time.monotonic() - t)
    nii_mb = res["S3"][1] / 1e6
    print(f"cold series.nii ({len(files)} slices, {nii_mb:.1f} MB): local {res['local'][0]:.2f} s, "
          f"S3 {res['S3'][0]:.2f} s (ratio {res['S3'][0] / res['local'][0]:.2f}); "
          f"S3 fetched {res['S3'][2] / 1e6:.1f} MB compressed in {res['S3'][3]} requests; raw curl GET of those "
          f"{len(objs)} objects {med(curl_t):.2f} s (S3 mount / curl {res['S3'][0] / med(curl_t):.2f})")

    # 3a. one IIIF tile of the corpus slide
    slide = os.path.join(a.corpus, "wsi/dicom-wsi-sample/cmu-1-small-region")
    wsi = os.path.join(w, "wsi")
    run([a.dcmfs, "ingest", "--no-progress"] + s3_flags(env, "wsi/") + [wsi, slide], env=env)
    level0 = os.path.join(slide, "level-0-frames-0-30.dcm")
    ds = pydicom.dcmread(level0)
    frames = list(generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames)))
    raw = open(level0, "rb").read()
    across = -(-int(ds.TotalPixelMatrixColumns) // int(ds.Columns))
    # An interior stored tile past the first 128 KiB: listing the slide reads
    # a header prefix of each level, which already holds the first tiles.
    k = next(i for i, f in enumerate(frames) if raw.find(f) > 131072 and i % across < across - 1
             and (i // across + 1) * int(ds.Rows) <= int(ds.TotalPixelMatrixRows))
    x, y = k % across * int(ds.Columns), k // across * int(ds.Rows)
    region = f"{x},{y},256,256/256,"
    # For the direct read: the largest stored tile.
    big = max(frames, key=len)
    frag_off = raw.find(big)
    m = Mount(a.dcmfs, wsi, os.path.join(w, "mnt"), "--no-persistent-cache")
    try:
        svc = os.path.join(m.mnt, f"studies/{ds.StudyInstanceUID}/{ds.SeriesInstanceUID}/iiif/{ds.SeriesInstanceUID}")
        before = m.fetched()
        open(os.path.join(svc, "info.json"), "rb").read()
        after_info = m.fetched()
        tile = open(os.path.join(svc, region, "0/default.jpg"), "rb").read()
        after_tile = m.fetched()
    finally:
        m.close()
    print(f"IIIF tile {region} of level 0 ({ds.Columns}x{ds.Rows} stored tiles): stored tile {k} is "
          f"{len(frames[k])} B in the original; fetched for the tile {after_tile - after_info} B "
          f"(ratio {(after_tile - after_info) / len(frames[k]):.2f}); info.json/pyramid set-up before it "
          f"{after_info - before} B")
    m = Mount(a.dcmfs, wsi, os.path.join(w, "mnt"), "--no-persistent-cache")
    try:
        dcm = glob.glob(os.path.join(m.mnt, f"studies/{ds.StudyInstanceUID}/{ds.SeriesInstanceUID}/{ds.SOPInstanceUID}*.dcm"))[0]
        before = m.fetched()
        with open(dcm, "rb", buffering=0) as f:
            f.seek(frag_off); got = f.read(len(big))
        assert got == big
        fetched = m.fetched() - before
    finally:
        m.close()
    print(f"  the largest stored tile ({len(big)} B) read from the mounted .dcm: fetched {fetched} B "
          f"(ratio {fetched / len(big):.2f}; kernel readahead included)")

    # 3b. one slice of series.nii
    one = pydicom.dcmread(files[0])
    slice_bytes = int(one.Rows) * int(one.Columns) * int(one.BitsAllocated) // 8
    archive = os.path.join(w, "s3-0")
    # The blob disk cache is off here: it would serve what the first mount fetched.
    no_disk = ["--blob-disk-cache-size", "0"]
    for label, extra in (("plan cached on disk", no_disk), ("nothing cached", ["--no-persistent-cache"])):
        if label == "plan cached on disk":  # a first mount builds and stores the series plan
            m = Mount(a.dcmfs, archive, os.path.join(w, "mnt"), *no_disk)
            with open(os.path.join(m.mnt, rel), "rb") as f: f.read(352)
            m.close()
        m = Mount(a.dcmfs, archive, os.path.join(w, "mnt"), *extra)
        try:
            path = os.path.join(m.mnt, rel)
            size = os.path.getsize(path)
            before = m.fetched()
            with open(path, "rb", buffering=0) as f:
                hdr = f.read(352)
                vox_offset = int(struct.unpack("<f", hdr[108:112])[0])
                k = len(files) // 2
                data = os.pread(f.fileno(), slice_bytes, vox_offset + k * slice_bytes)
            fetched = m.fetched() - before
        finally:
            m.close()
        print(f"series.nii one slice ({slice_bytes} B, {label}): fetched {fetched} B "
              f"(ratio {fetched / slice_bytes:.2f})")

    # 4. the disk cache of fetched frames, across a remount
    got = []
    for attempt in range(2):
        m = Mount(a.dcmfs, archive, os.path.join(w, "mnt"), "--blob-disk-cache-size", "256M")
        try:
            series_dir = os.path.join(m.mnt, f"studies/{study}/{series}")
            before = m.fetched()
            t = time.monotonic()
            n = sum(cat(os.path.join(series_dir, f)) for f in sorted(os.listdir(series_dir)) if f.endswith(".dcm"))
            got.append((m.fetched() - before, time.monotonic() - t, n))
        finally:
            m.close()
    print(f"disk cache: the series' .dcm files ({got[0][2] / 1e6:.1f} MB) fetched {got[0][0] / 1e6:.1f} MB "
          f"in {got[0][1]:.2f} s; after a remount {got[1][0]} B in {got[1][1]:.2f} s")

if __name__ == "__main__":
    main()
