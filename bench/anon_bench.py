#!/usr/bin/env python3
"""dcmfs anonymized-view benchmark: reading the whole /anonymized tree (each
file de-identified on first read, PS3.15 Annex E) vs reading the identified
tree (/studies, originals) of the same mount, cold and warm, and vs DCMTK's
dcmodify and GDCM's gdcmanon doing comparable work on a copy of the same
files. Medians of N repeats; ratios are throughput ratios (higher is better
for dcmfs). Goal: anonymized cold >= 0.5 x identified cold.

Cold means: unmount, clear ARCHIVE/cache (derived files and the sizes of
anonymized files are kept there), drop the page cache (root only), mount.
Warm means: the same mount, read again (page cache and dcmfs caches hot).
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fs_bench import Mount, drop_caches, run, timed, tree_bytes  # noqa: E402

def read_tree(root, suffix=".dcm"):
    """Reads every file ending in `suffix` below root; returns (files, bytes)."""
    n = total = 0
    for d, _, files in os.walk(root):
        for f in files:
            if not f.endswith(suffix): continue
            n += 1
            with open(os.path.join(d, f), "rb", buffering=0) as fh:
                while True:
                    chunk = fh.read(1 << 20)
                    if not chunk: break
                    total += len(chunk)
    return n, total

def med(xs): return statistics.median(xs)

class Reader:
    """Mounts ARCHIVE and times whole-tree reads of one view."""
    def __init__(self, dcmfs, archive, mnt):
        self.dcmfs, self.archive, self.mnt = dcmfs, archive, mnt
        self.mount = Mount(dcmfs, archive, mnt)
    def remount_cold(self):
        self.mount.close()
        shutil.rmtree(os.path.join(self.archive, "cache"), ignore_errors=True)
        drop_caches()
        self.mount = Mount(self.dcmfs, self.archive, self.mnt)
    def time_read(self, view):
        out = {}
        t = timed(lambda: out.update(r=read_tree(os.path.join(self.mnt, view))))
        return t, out["r"]
    def close(self): self.mount.close()

DCMODIFY_ARGS = ["-nb", "-ie", "-imt", "-q",
                 "-ma", "(0010,0010)=ANON", "-ma", "(0010,0020)=ANON",
                 "-ea", "(0010,0030)", "-ea", "(0008,0050)", "-ea", "(0008,0080)",
                 "-ea", "(0008,0090)", "-ea", "(0020,0010)", "-ea", "(0008,1030)",
                 "-ea", "(0008,103e)", "-ma", "(0012,0062)=YES", "-gst", "-gse", "-gin"]

def files_of(root):
    return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]

def time_dcmodify(src, work):
    dst = os.path.join(work, "dcmodify")
    shutil.rmtree(dst, ignore_errors=True); shutil.copytree(src, dst)
    files = files_of(dst)
    drop_caches()
    def go():
        for i in range(0, len(files), 200):  # one process per 200 files, like xargs
            subprocess.run(["dcmodify", *DCMODIFY_ARGS, *files[i:i + 200]],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.sync()
    return timed(go)

def make_certificate(work):
    key, cert = os.path.join(work, "key.pem"), os.path.join(work, "cert.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=dcmfs-bench", "-keyout", key, "-out", cert],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (key, cert) if r.returncode == 0 else None

def time_gdcmanon(src, work, mode_args):
    dst = os.path.join(work, "gdcmanon-out")
    shutil.rmtree(dst, ignore_errors=True); os.makedirs(dst)
    drop_caches()
    def go():
        subprocess.run(["gdcmanon", *mode_args, "--continue", "-r", "-i", src, "-o", dst],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.sync()
    return timed(go)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dcmfs", required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--corpus", action="store_true", help="add ../shared/corpus to the data")
    args = ap.parse_args()
    dcmfs = os.path.abspath(args.dcmfs)
    work = tempfile.mkdtemp(prefix="dcmfs-anon-bench-", dir=os.environ.get("BENCH_DIR", "/tmp"))
    try:
        src = os.path.join(work, "src")
        run([dcmfs, "synth", "--rows", "256", "--columns", "256", "--ct-slices", "100",
             "--mr-slices", "40", os.path.join(src, "synthetic")])
        corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "corpus")
        if args.corpus and os.path.isdir(corpus):
            shutil.copytree(corpus, os.path.join(src, "corpus"))
        nfiles, nbytes = tree_bytes(src)
        print(f"data: {nfiles} files, {nbytes/1e6:.1f} MB; median of {args.repeats}; "
              f"page cache drop: {'yes' if drop_caches() else 'no (not root?)'}")
        archive = os.path.join(work, "archive")
        subprocess.run([dcmfs, "ingest", "--no-progress", archive, src], stdout=subprocess.DEVNULL)

        rd = Reader(dcmfs, archive, os.path.join(work, "mnt"))
        cold = {"studies": [], "anonymized": []}
        sizes = {}
        try:
            for _ in range(args.repeats):
                for view in ("studies", "anonymized"):
                    rd.remount_cold()
                    t, sizes[view] = rd.time_read(view)
                    cold[view].append(t)
            warm = {}
            for view in ("studies", "anonymized"):
                rd.time_read(view)
                warm[view] = [rd.time_read(view)[0] for _ in range(args.repeats)]
        finally:
            rd.close()
        mbps = {k: {v: sizes[v][1] / 1e6 / med(ts[v]) for v in ts} for k, ts in
                (("cold", cold), ("warm", warm))}
        for kind in ("cold", "warm"):
            m = mbps[kind]
            goal = " (goal >= 0.5)" if kind == "cold" else ""
            print(f"read {kind:4}  /anonymized {m['anonymized']:8.1f} MB/s"
                  f" ({sizes['anonymized'][0]} files) | /studies {m['studies']:8.1f} MB/s"
                  f" ({sizes['studies'][0]} files) | ratio {m['anonymized']/m['studies']:.2f}{goal}")

        anon_files_s = sizes["anonymized"][0] / med(cold["anonymized"])
        tools = [("dcmodify (dcmtk)", lambda: time_dcmodify(src, work))]
        if shutil.which("gdcmanon"):
            tools.append(("gdcmanon --dumb", lambda: time_gdcmanon(
                src, work, ["--dumb", "--remove", "10,10", "--remove", "10,20",
                            "--remove", "10,30", "--empty", "8,50", "--remove", "8,80",
                            "--empty", "8,90", "--remove", "20,10"])))
            cert = make_certificate(work)
            if cert:
                tools.append(("gdcmanon -e (E.1)", lambda: time_gdcmanon(
                    src, work, ["-e", "-k", cert[0], "-c", cert[1]])))
        else:
            print("gdcmanon: not installed (apt-get install libgdcm-tools)")
        for name, fn in tools:
            t = med([fn() for _ in range(args.repeats)])
            print(f"{name:18} {nbytes/1e6/t:8.1f} MB/s {nfiles/t:8.0f} files/s | dcmfs /anonymized cold"
                  f" {anon_files_s:8.0f} files/s | ratio {anon_files_s/(nfiles/t):.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
