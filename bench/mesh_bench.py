#!/usr/bin/env python3
"""dcmfs mesh benchmark: mesh/bone.stl (300 HU isosurface, binary STL) of a
synthetic 512 x 512 x 600 CT, and of the largest CT series of the shared
corpus (GE head, 512 x 512 x 28), read cold through the mount, vs VTK's
vtkFlyingEdges3D + vtkSTLWriter (python3-vtk9, multithreaded through
vtkSMPTools) on the same voxels and threshold, in the same run.

Cold means: unmount, clear ARCHIVE/cache (meshes are persisted there), drop
the page cache (root only), mount; the time covers listing the folders down
to mesh/, stat + read of bone.stl (volume plan, blob reads, decompression,
pixel decoding, marching cubes, STL). VTK's time
covers reading the raw volume, flying edges and writing the STL. Medians of
N repeats; ratio = ours / VTK (lower is better; goal <= 1.0). CPU seconds
(user + system, all threads; the daemon's up to the last byte read) are
printed too: on a shared machine they vary less than wall time. Peak RSS:
the dcmfs daemon's VmHWM vs the VTK process's maximum RSS.
"""
import argparse, os, shutil, statistics, struct, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fs_bench import Mount, drop_caches, timed  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"  # Debian's numpy, pydicom and vtk load only here


def triangles(path):
    with open(path, "rb") as f:
        f.seek(80)
        return struct.unpack("<I", f.read(4))[0]


def series_folder(mnt):
    """The CT series folder (the only series listing mesh/bone.stl). Listing
    does not mesh; a stat of bone.stl would, outside the timed part."""
    studies = os.path.join(mnt, "studies")
    for study in sorted(os.listdir(studies)):
        for series in sorted(os.listdir(os.path.join(studies, study))):
            mesh = os.path.join(studies, study, series, "mesh")
            if os.path.isdir(mesh) and "bone.stl" in os.listdir(mesh):
                return os.path.dirname(mesh)
    raise SystemExit("no CT series with mesh/bone.stl in the mount")


def cpu_seconds(pid):
    """User + system CPU time of a process so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_ours(dcmfs, archive, mnt, out):
    shutil.rmtree(os.path.join(archive, "cache"), ignore_errors=True)
    drop_caches()
    m = Mount(dcmfs, archive, mnt)
    try:
        def go():  # finding the folder lists it: the volume plan is made then
            stl = os.path.join(series_folder(mnt), "mesh", "bone.stl")
            os.stat(stl)
            shutil.copyfile(stl, out)
        cpu0 = cpu_seconds(m.proc.pid)
        t = timed(go)
        return t, m.peak_rss_mib(), cpu_seconds(m.proc.pid) - cpu0
    finally:
        m.close()


def run_vtk(raw, dims, spacing, out):
    drop_caches()
    cmd = ["/usr/bin/time", "-f", "%e %M %U %S", PY, os.path.join(HERE, "mesh_vtk.py"), raw,
           *map(str, dims), *map(str, spacing), "300", out]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
    t = time.perf_counter() - t0
    fields = r.stderr.strip().splitlines()[-1].split()
    return t, int(fields[1]) / 1024, float(fields[2]) + float(fields[3])


def compare(name, dcmfs, work, src, raw, dims, spacing, repeats):
    """Ingests src, then alternates cold dcmfs and VTK runs; prints one block."""
    archive, mnt = os.path.join(work, name + "-archive"), os.path.join(work, name + "-mnt")
    subprocess.run([dcmfs, "ingest", archive, src], check=False, stdout=subprocess.DEVNULL)
    ours, vtk = [], []
    for _ in range(repeats):
        ours.append(run_ours(dcmfs, archive, mnt, os.path.join(work, "ours.stl")))
        vtk.append(run_vtk(raw, dims, spacing, os.path.join(work, "vtk.stl")))
    t_ours = statistics.median(r[0] for r in ours)
    t_vtk = statistics.median(r[0] for r in vtk)
    cpu_ours = statistics.median(r[2] for r in ours)
    cpu_vtk = statistics.median(r[2] for r in vtk)
    print(f"{name}: volume {dims[0]}x{dims[1]}x{dims[2]} int16, threshold 300 HU, {repeats} runs")
    print(f"  dcmfs mesh/bone.stl cold: median {t_ours:.2f} s ({cpu_ours:.2f} CPU s), peak RSS "
          f"{max(r[1] for r in ours):.0f} MiB, {triangles(os.path.join(work, 'ours.stl'))} triangles")
    print(f"  VTK FlyingEdges3D+STL:    median {t_vtk:.2f} s ({cpu_vtk:.2f} CPU s), peak RSS "
          f"{max(r[1] for r in vtk):.0f} MiB, {triangles(os.path.join(work, 'vtk.stl'))} triangles")
    print(f"  ratio dcmfs/VTK time: {t_ours / t_vtk:.2f}, CPU: {cpu_ours / cpu_vtk:.2f}"
          f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dcmfs", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--slices", type=int, default=600)
    ap.add_argument("--corpus-ct", default=os.path.join(
        HERE, "..", "..", "shared", "corpus", "dcm_qa", "dcm_qa_ct_GE", "In", "GE"),
        help="the largest CT series of ../shared/corpus ('' to leave it out)")
    ap.add_argument("--synthetic", default="",
                    help="reuse DIR of mesh_ct.py slices (DIR/../volume.raw beside it)")
    args = ap.parse_args()
    dcmfs = os.path.abspath(args.dcmfs)
    work = tempfile.mkdtemp(prefix="dcmfs-mesh-", dir=os.environ.get("BENCH_DIR", "/tmp"))
    try:
        dims, spacing = (512, 512, args.slices), (0.7, 0.7, 0.8)
        if args.synthetic:  # made by an earlier run of mesh_ct.py with these dims
            src, raw = args.synthetic, os.path.join(args.synthetic, "..", "volume.raw")
        else:
            src, raw = os.path.join(work, "in"), os.path.join(work, "volume.raw")
            subprocess.run([PY, os.path.join(HERE, "mesh_ct.py"), src, raw, *map(str, dims),
                            *map(str, spacing)], check=True)
        compare("synthetic CT", dcmfs, work, src, raw, dims, spacing, args.repeats)
        if args.corpus_ct:
            if not os.path.isdir(args.corpus_ct):
                raise SystemExit(f"corpus CT {args.corpus_ct} not found (pass --corpus-ct '')")
            raw = os.path.join(work, "corpus.raw")
            r = subprocess.run([PY, os.path.join(HERE, "mesh_corpus_raw.py"), args.corpus_ct, raw],
                               check=True, stdout=subprocess.PIPE, text=True)
            v = r.stdout.split()
            compare("corpus CT " + os.path.relpath(args.corpus_ct, os.path.join(HERE, "..", "..")),
                    dcmfs, work, args.corpus_ct, raw, tuple(int(x) for x in v[:3]),
                    tuple(float(x) for x in v[3:6]), args.repeats)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
