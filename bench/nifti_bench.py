#!/usr/bin/python3
"""series.nii benchmark: `cat series.nii > /dev/null` from a fresh mount
(cold: ARCHIVE/cache removed, page cache dropped when root) vs dcm2niix
converting the same series to an uncompressed .nii, in the same run.
Series: a synthetic 512x512xN int16 CT (dcmfs synth, uncompressed) and the
corpus' largest series (dcm_qa_deident, 196 x 256x256) when present.
Medians of N repeats, the ratio dcmfs/dcm2niix (< 1.0: dcmfs faster), and
the daemon's peak RSS (VmHWM). Then random 1 MiB reads at random offsets of
series.nii from a fresh mount vs the same reads of dcm2niix's file on disk.
"""
import argparse, glob, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fs_bench import Mount, drop_caches, med, run, timed  # noqa: E402
import pydicom  # noqa: E402

EXPLICIT_LE = "1.2.840.10008.1.2.1"

def largest_native_series(root):
    """The folder holding the most explicit-LE DICOM files below root."""
    best, best_n = None, 0
    for d, _, files in os.walk(root):
        dcm = [f for f in files if not f.endswith(".txt")]
        if len(dcm) <= best_n: continue
        try:
            ds = pydicom.dcmread(os.path.join(d, dcm[0]), stop_before_pixels=True)
        except Exception:
            continue
        if str(ds.file_meta.TransferSyntaxUID) != EXPLICIT_LE: continue
        best, best_n = d, len(dcm)
    ds = pydicom.dcmread(os.path.join(best, os.listdir(best)[0]), stop_before_pixels=True)
    return best, best_n, ds.StudyInstanceUID, ds.SeriesInstanceUID

def cat(path):
    n = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(1 << 20)
            if not b: return n
            n += len(b)

def random_reads(path, count=200, size=1 << 20, seed=7):
    """Reads/s of `count` 1 MiB preads at random offsets (seeded)."""
    import random
    rng = random.Random(seed)
    fd = os.open(path, os.O_RDONLY)
    try:
        end = max(1, os.fstat(fd).st_size - size)
        offsets = [rng.randrange(end) for _ in range(count)]
        t = time.monotonic()
        for off in offsets:
            os.pread(fd, size, off)
        return count / (time.monotonic() - t)
    finally:
        os.close(fd)

def bench_random_reads(name, dcmfs, archive, mnt, study, series, out):
    """Random 1 MiB reads of series.nii from a fresh mount (cold derived
    cache, page cache dropped) vs the same reads of dcm2niix's .nii on disk
    (page cache dropped)."""
    shutil.rmtree(os.path.join(archive, "cache"), ignore_errors=True)
    drop_caches()
    m = Mount(dcmfs, archive, mnt)
    try:
        ours = random_reads(os.path.join(mnt, "studies", study, series, "series.nii"))
        rss = m.peak_rss_mib()
    finally:
        m.close()
    drop_caches()
    theirs = random_reads(glob.glob(os.path.join(out, "*.nii"))[0])
    print("%-28s random 1 MiB reads: dcmfs %.0f/s cold  file written by dcm2niix %.0f/s  "
          "ratio %.2f  daemon peak RSS %.0f MiB" % (name, ours, theirs, theirs / ours, rss))

def bench_series(name, dcmfs, src, repeats, work):
    series_dir, nfiles, study, series = largest_native_series(src)
    archive, mnt = os.path.join(work, name + "-archive"), os.path.join(work, name + "-mnt")
    run([dcmfs, "ingest", archive, series_dir])
    ours, theirs, rss, size = [], [], 0.0, 0
    for _ in range(repeats):
        shutil.rmtree(os.path.join(archive, "cache"), ignore_errors=True)
        drop_caches()
        m = Mount(dcmfs, archive, mnt)
        try:
            nii = os.path.join(mnt, "studies", study, series, "series.nii")
            box = {}
            ours.append(timed(lambda: box.update(n=cat(nii))))
            size = box["n"]
            rss = max(rss, m.peak_rss_mib())
        finally:
            m.close()
        out = os.path.join(work, name + "-dcm2niix")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        drop_caches()
        theirs.append(timed(lambda: run(["dcm2niix", "-z", "n", "-b", "n", "-f", "out", "-o", out,
                                         series_dir])))
    print("%-28s %5d files %8.1f MiB  dcmfs cat %6.3f s  dcm2niix %6.3f s  ratio %.2f  "
          "daemon peak RSS %.0f MiB" % (name, nfiles, size / 2**20, med(ours), med(theirs),
                                        med(ours) / med(theirs), rss))
    bench_random_reads(name, dcmfs, archive, mnt, study, series, out)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dcmfs", default="build/tools/dcmfs")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--slices", type=int, default=1000)
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                      "shared", "corpus"))
    a = ap.parse_args()
    if not drop_caches():
        print("(not root: page cache not dropped; 'cold' means a fresh mount and empty ARCHIVE/cache)")
    work = tempfile.mkdtemp(prefix="dcmfs-nifti-bench-")
    try:
        synth = os.path.join(work, "synth")
        run([a.dcmfs, "synth", "--rows", "512", "--columns", "512", "--ct-slices", str(a.slices),
             "--mr-slices", "2", synth])
        bench_series("synthetic CT 512x512x%d" % a.slices, a.dcmfs, synth, a.repeats, work)
        deident = os.path.join(a.corpus, "dcm_qa", "dcm_qa_deident", "In")
        if os.path.isdir(deident):
            bench_series("corpus dcm_qa_deident", a.dcmfs, deident, a.repeats, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
