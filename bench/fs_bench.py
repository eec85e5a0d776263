#!/usr/bin/env python3
"""dcmfs benchmark: ingest vs cp -r, reads through the mount vs a plain
directory (warm and cold), find+stat vs a plain tree, and the mount daemon's
peak memory. Same files, same disk, same run; medians of N repeats and the
ratio dcmfs/native (higher is better for throughput ratios).

Data: a larger synthetic set (dcmfs synth) plus ../shared/corpus when present.
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

def timed(fn):
    t = time.perf_counter(); fn(); return time.perf_counter() - t

def tree_bytes(root):
    n = b = 0
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p):
                n += 1; b += os.path.getsize(p)
    return n, b

def drop_caches():
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f: f.write("3\n")
        return True
    except OSError:
        return False

def read_all(root, suffix=None):
    total = 0
    for d, _, files in os.walk(root):
        for f in files:
            if suffix and not f.endswith(suffix): continue
            with open(os.path.join(d, f), "rb", buffering=0) as fh:
                while True:
                    chunk = fh.read(1 << 20)
                    if not chunk: break
                    total += len(chunk)
    return total

def find_stat(*roots):
    out = run(["find", *roots, "-type", "f"]).stdout.split(b"\n")
    for p in out:
        if p: os.stat(p)
    return len(out)

class Mount:
    def __init__(self, dcmfs, archive, mnt):
        self.mnt = mnt
        os.makedirs(mnt, exist_ok=True)
        self.proc = subprocess.Popen([dcmfs, "mount", "-f", archive, mnt],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(500):
            if os.path.ismount(mnt): break
            time.sleep(0.02)
        else:
            raise SystemExit("mount did not come up")
    def peak_rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"): return int(line.split()[1]) / 1024
        return float("nan")
    def close(self):
        subprocess.run(["fusermount3", "-u", self.mnt])
        self.proc.wait(timeout=30)

def med(xs): return statistics.median(xs)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dcmfs", required=True)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    dcmfs = os.path.abspath(args.dcmfs)
    work = tempfile.mkdtemp(prefix="dcmfs-bench-", dir=os.environ.get("BENCH_DIR", "/tmp"))
    try:
        src = os.path.join(work, "src")
        run([dcmfs, "synth", "--rows", "256", "--columns", "256", "--ct-slices", "100",
             "--mr-slices", "40", os.path.join(src, "synthetic")])
        corpus = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus")
        if os.path.isdir(corpus):
            shutil.copytree(corpus, os.path.join(src, "corpus"))
        nfiles, nbytes = tree_bytes(src)
        mb = nbytes / 1e6
        print(f"data: {nfiles} files, {mb:.1f} MB (synthetic 256x256 set"
              f"{' + ../shared/corpus' if os.path.isdir(corpus) else ''}); median of {args.repeats}")

        # Ingest vs cp -r onto the same disk.
        t_ing, t_cp = [], []
        for i in range(args.repeats):
            arch = os.path.join(work, f"archive{i}")
            t_ing.append(timed(lambda: subprocess.run([dcmfs, "ingest", arch, src],
                                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
            dst = os.path.join(work, f"cp{i}")
            t_cp.append(timed(lambda: run(["cp", "-r", src, dst])))
            shutil.rmtree(dst)
            if i: shutil.rmtree(arch)
        arch = os.path.join(work, "archive0")
        ing, cp = med(t_ing), med(t_cp)
        print(f"ingest      dcmfs {nfiles/ing:8.0f} files/s {mb/ing:8.1f} MB/s | cp -r {mb/cp:8.1f} MB/s"
              f" | ratio {cp/ing:.2f} (goal >= 0.5)")

        m = Mount(dcmfs, arch, os.path.join(work, "mnt"))
        try:
            view = os.path.join(m.mnt, "studies")
            # Warm reads: one pass to warm, then timed passes.
            read_all(view, ".dcm"); read_all(src)
            r_m = [timed(lambda: read_all(view, ".dcm")) for _ in range(args.repeats)]
            r_p = [timed(lambda: read_all(src)) for _ in range(args.repeats)]
            print(f"read warm   dcmfs {mb/med(r_m):8.1f} MB/s | plain dir {mb/med(r_p):8.1f} MB/s"
                  f" | ratio {med(r_p)/med(r_m):.2f} (goal >= 0.8)")
            if drop_caches():
                c_m, c_p = [], []
                for _ in range(args.repeats):
                    m.close(); drop_caches()
                    m = Mount(dcmfs, arch, os.path.join(work, "mnt"))
                    c_m.append(timed(lambda: read_all(view, ".dcm")))
                    drop_caches()
                    c_p.append(timed(lambda: read_all(src)))
                print(f"read cold   dcmfs {mb/med(c_m):8.1f} MB/s | plain dir {mb/med(c_p):8.1f} MB/s"
                      f" | ratio {med(c_p)/med(c_m):.2f}")
            else:
                print("read cold   skipped: cannot drop the page cache here (not root, or a container)")
            # The identified trees (/anonymized has its own benchmark, bench/run_anon.sh).
            trees = [os.path.join(m.mnt, "patients"), os.path.join(m.mnt, "studies")]
            f_m = [timed(lambda: find_stat(*trees)) for _ in range(args.repeats)]
            f_p = [timed(lambda: find_stat(src)) for _ in range(args.repeats)]
            nm = find_stat(*trees)
            print(f"metadata    dcmfs {nm/med(f_m):8.0f} files/s | plain tree {nfiles/med(f_p):8.0f} files/s"
                  f" | ratio (per file) {(nm/med(f_m))/(nfiles/med(f_p)):.2f} (goal >= 0.5)")
            print(f"memory      mount daemon peak RSS {m.peak_rss_mib():.1f} MiB")
        finally:
            m.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
