#!/usr/bin/python3
"""series.nii benchmark: `cat series.nii > /dev/null` from a fresh mount
(cold: ARCHIVE/cache removed, page cache dropped when root) vs dcm2niix
converting the same series to an uncompressed .nii, in the same run.
Series: a synthetic 512x512xN int16 CT (dcmfs synth, uncompressed), the same
files in JPEG 2000 lossless (gdcmconv --j2k, OpenJPEG's encoder; dcm2niix
converts the same J2K files), and the corpus' largest series (dcm_qa_deident,
196 x 256x256) when present.
Medians of N repeats, the ratio dcmfs/dcm2niix (< 1.0: dcmfs faster), and
the daemon's peak RSS (VmHWM). Then random 1 MiB reads at random offsets of
series.nii from a fresh mount vs the same reads of dcm2niix's file on disk:
reads/s side by side, the ratio dcmfs/plain, medians of N runs (with
--baseline, another dcmfs build measured in the same runs).
With --big-slices N (N >= 8200 makes a 512x512 int16 volume over 4 GiB): the
daemon's peak RSS while `cat` reads that volume from a fresh mount.
"""
import argparse, concurrent.futures, glob, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fs_bench import Mount, drop_caches, med, run, timed  # noqa: E402
import pydicom  # noqa: E402

EXPLICIT_LE = "1.2.840.10008.1.2.1"
J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"

def largest_series(root, syntax=EXPLICIT_LE):
    """The folder holding the most DICOM files of transfer syntax `syntax` below root."""
    best, best_n = None, 0
    for d, _, files in os.walk(root):
        dcm = [f for f in files if not f.endswith(".txt")]
        if len(dcm) <= best_n: continue
        try:
            ds = pydicom.dcmread(os.path.join(d, dcm[0]), stop_before_pixels=True)
        except Exception:
            continue
        if str(ds.file_meta.TransferSyntaxUID) != syntax: continue
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

def random_reads_mounted(dcmfs, archive, mnt, study, series, seed):
    """Reads/s of random_reads() on series.nii from a fresh mount (cold
    derived cache, page cache dropped) and the daemon's peak RSS."""
    shutil.rmtree(os.path.join(archive, "cache"), ignore_errors=True)
    drop_caches()
    m = Mount(dcmfs, archive, mnt)
    try:
        rate = random_reads(os.path.join(mnt, "studies", study, series, "series.nii"), seed=seed)
        return rate, m.peak_rss_mib()
    finally:
        m.close()

def bench_random_reads(name, dcmfs, archive, mnt, study, series, out, repeats, baseline=None):
    """Random 1 MiB reads of series.nii from a fresh mount vs the same reads
    of dcm2niix's .nii on disk (page cache dropped); medians of `repeats`
    runs, each with its own seed (the same offsets for every reader). With
    `baseline` (another dcmfs binary) its mount is measured in the same runs."""
    ours, theirs, before, rss = [], [], [], 0.0
    plain = glob.glob(os.path.join(out, "*.nii"))[0]
    for r in range(repeats):
        if baseline:
            before.append(random_reads_mounted(baseline, archive, mnt, study, series, 7 + r)[0])
        rate, peak = random_reads_mounted(dcmfs, archive, mnt, study, series, 7 + r)
        ours.append(rate)
        rss = max(rss, peak)
        drop_caches()
        theirs.append(random_reads(plain, seed=7 + r))
    print("%-28s random 1 MiB reads: dcmfs %.1f/s (%.1f ms/read)  plain .nii by dcm2niix %.0f/s  "
          "ratio dcmfs/plain %.3f  (median of %d; dcmfs runs %s)  daemon peak RSS %.0f MiB"
          % (name, med(ours), 1000 / med(ours), med(theirs), med(ours) / med(theirs), repeats,
             " ".join("%.1f" % x for x in ours), rss))
    if baseline:
        print("%-28s   baseline %s: %.1f/s (%.1f ms/read)  ratio baseline/plain %.3f  "
              "speed-up %.2fx  (runs %s)"
              % ("", baseline, med(before), 1000 / med(before), med(before) / med(theirs),
                 med(ours) / med(before), " ".join("%.1f" % x for x in before)))

def j2k_copy(series_dir, dst):
    """The series' files re-encoded as JPEG 2000 lossless by gdcmconv (GDCM
    over OpenJPEG), two at a time; checks the first file's transfer syntax."""
    os.makedirs(dst)
    names = sorted(os.listdir(series_dir))
    def one(n):
        run(["gdcmconv", "--j2k", os.path.join(series_dir, n), os.path.join(dst, n)])
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one, names))
    ds = pydicom.dcmread(os.path.join(dst, names[0]), stop_before_pixels=True)
    if str(ds.file_meta.TransferSyntaxUID) != J2K_LOSSLESS:
        raise SystemExit("gdcmconv --j2k wrote %s, not J2K lossless" % ds.file_meta.TransferSyntaxUID)
    return dst

def bench_series(name, dcmfs, src, repeats, work, syntax=EXPLICIT_LE, random_only=False,
                 baseline=None):
    series_dir, nfiles, study, series = largest_series(src, syntax)
    archive, mnt = os.path.join(work, name + "-archive"), os.path.join(work, name + "-mnt")
    run([dcmfs, "ingest", archive, series_dir])
    ours, theirs, rss, size = [], [], 0.0, 0
    out = os.path.join(work, name + "-dcm2niix")
    if random_only:  # dcm2niix's file only, for the random reads
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        run(["dcm2niix", "-z", "n", "-b", "n", "-f", "out", "-o", out, series_dir])
    for _ in range(0 if random_only else repeats):
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
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        drop_caches()
        theirs.append(timed(lambda: run(["dcm2niix", "-z", "n", "-b", "n", "-f", "out", "-o", out,
                                         series_dir])))
    if not random_only:
        print("%-28s %5d files %8.1f MiB  dcmfs cat %6.3f s  dcm2niix %6.3f s  ratio %.2f  "
              "daemon peak RSS %.0f MiB" % (name, nfiles, size / 2**20, med(ours), med(theirs),
                                            med(ours) / med(theirs), rss))
    bench_random_reads(name, dcmfs, archive, mnt, study, series, out, repeats, baseline)

def bench_big_volume(dcmfs, slices, work):
    """Peak RSS of the daemon while `cat` reads a 512x512x`slices` int16
    series.nii from a fresh mount (cold derived cache): memory must be bounded
    by the reader's caches, not by the volume."""
    for d in glob.glob(os.path.join(work, "*-archive")) + glob.glob(os.path.join(work, "synth*")):
        shutil.rmtree(d, ignore_errors=True)
    src = os.path.join(work, "big")
    run([dcmfs, "synth", "--rows", "512", "--columns", "512", "--ct-slices", str(slices),
         "--mr-slices", "2", src])
    series_dir, nfiles, study, series = largest_series(src)
    archive, mnt = os.path.join(work, "big-archive"), os.path.join(work, "big-mnt")
    run([dcmfs, "ingest", archive, series_dir])
    shutil.rmtree(src)
    drop_caches()
    m = Mount(dcmfs, archive, mnt)
    try:
        box = {}
        t = timed(lambda: box.update(n=cat(os.path.join(mnt, "studies", study, series, "series.nii"))))
        rss = m.peak_rss_mib()
    finally:
        m.close()
    print("%-28s %5d files %8.1f GiB  dcmfs cat %6.1f s (%.0f MiB/s)  daemon peak RSS %.0f MiB "
          "(goal < 512)" % ("big volume 512x512x%d" % slices, nfiles, box["n"] / 2**30, t,
                            box["n"] / 2**20 / t, rss))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dcmfs", default="build/tools/dcmfs")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--slices", type=int, default=1000)
    ap.add_argument("--no-j2k", action="store_true", help="skip the JPEG 2000 lossless series")
    ap.add_argument("--random-only", action="store_true",
                    help="only the random 1 MiB reads (no cold cat vs dcm2niix timing)")
    ap.add_argument("--baseline", help="another dcmfs binary whose random reads are measured "
                                       "in the same runs (before/after)")
    ap.add_argument("--no-corpus", action="store_true", help="skip the corpus series")
    ap.add_argument("--big-slices", type=int, default=0,
                    help="also read a 512x512xN volume (N >= 8200: over 4 GiB) for peak RSS")
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
        bench_series("synthetic CT 512x512x%d" % a.slices, a.dcmfs, synth, a.repeats, work,
                     random_only=a.random_only, baseline=a.baseline)
        if not a.no_j2k:
            series_dir = largest_series(synth)[0]
            j2k = j2k_copy(series_dir, os.path.join(work, "synth-j2k"))
            shutil.rmtree(synth)  # disk: the big-volume part below writes GiBs
            bench_series("synthetic CT J2K lossless", a.dcmfs, j2k, a.repeats, work, J2K_LOSSLESS,
                         random_only=a.random_only, baseline=a.baseline)
        deident = os.path.join(a.corpus, "dcm_qa", "dcm_qa_deident", "In")
        if os.path.isdir(deident) and not a.no_corpus:
            bench_series("corpus dcm_qa_deident", a.dcmfs, deident, a.repeats, work,
                         random_only=a.random_only, baseline=a.baseline)
        if a.big_slices:
            bench_big_volume(a.dcmfs, a.big_slices, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
