#!/usr/bin/python3
"""IIIF tiles from the mount vs `vips dzsave --layout iiif3`, side by side.

For a synthetic single-frame RGB image (native, default 20000x15000) and a
synthetic whole-slide pyramid (JPEG tiles, default 10240x7680, 256 px tiles):
  - every level-0 tile the mount lists (readdir of iiif/<id>/, i.e. the
    canonical tile set of info.json), read through the mount with 2 readers,
    cold (fresh mount, empty derived cache) and warm (same mount, again);
  - vips dzsave --layout iiif3 tiling the same pixels (read from a raw file);
  - tiles/s and the ratio mount time / vips time (< 1: the mount is faster).
Then nginx on loopback: wrk on one cached tile (p50/p99), and the latency of
first reads of random tiles on a fresh mount (cold p50/p99, curl).
Medians of --repeats runs.
"""
import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, text=True, capture_output=True, **kw).stdout


def timed(cmd):
    t = time.monotonic()
    sh(cmd)
    return time.monotonic() - t


class Mount:
    def __init__(self, dcmfs, archive, mnt, extra=""):
        os.makedirs(mnt, exist_ok=True)
        self.mnt = mnt
        sh(f"{dcmfs} mount {extra} {archive} {mnt}")

    def __enter__(self):
        return self

    def __exit__(self, *a):
        subprocess.run(["fusermount3", "-u", self.mnt])


def service(mnt, kind):
    """The image service folder of the big RGB image ('big') or the pyramid ('wsi')."""
    for d in sorted(os.listdir(f"{mnt}/studies")):
        for s in sorted(os.listdir(f"{mnt}/studies/{d}")):
            iiif = f"{mnt}/studies/{d}/{s}/iiif"
            if not os.path.isdir(iiif):
                continue
            ids = [i for i in os.listdir(iiif) if os.path.isdir(f"{iiif}/{i}")]
            if kind == "wsi" and s in ids:
                return f"{iiif}/{s}"
            if kind == "big" and s not in ids and ids:
                return f"{iiif}/{ids[0]}"
    raise SystemExit(f"no {kind} service in {mnt}")


def tile_list(svc, out):
    sh(f"cd {svc} && find . -type f ! -name info.json > {out}")
    return int(sh(f"wc -l < {out}"))


def read_all(svc, listing):
    return timed(f"cd {svc} && xargs -a {listing} -P 2 -n 64 cat > /dev/null")


def vips_tiles(raw, w, h, tile, work):
    v = f"{work}/in.v"
    sh(f"vips rawload {raw} {v} {w} {h} 3")
    out = f"{work}/vips-out"
    shutil.rmtree(out, ignore_errors=True)
    t = timed(f"vips dzsave {v} {out} --layout iiif3 --tile-size {tile} --overlap 0 "
              f"--suffix .jpg[Q=90] --id http://localhost")
    n = int(sh(f"find {out} -name '*.jpg' | wc -l"))
    shutil.rmtree(out, ignore_errors=True)
    os.remove(v)
    return t, n


def nginx_start(work, root, port):
    server = open(f"{SRC}/packaging/nginx-dcmfs.conf").read()
    server = server.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    server = server.replace("root /mnt/dcmfs;", f"root {root};").replace(
        "alias /mnt/dcmfs/;", f"alias {root}/;")
    prefix = f"{work}/nginx"
    os.makedirs(prefix, exist_ok=True)
    open(f"{prefix}/server.conf", "w").write(server)
    temps = "".join(f"  {t}_temp_path {prefix}/tmp_{t};\n"
                    for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = ("user root;\n" if os.geteuid() == 0 else "") + (
        f"worker_processes 2;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
        f"events {{ worker_connections 256; }}\nhttp {{\n include /etc/nginx/mime.types;\n"
        f" access_log off;\n{temps} include {prefix}/server.conf;\n}}\n")
    open(f"{prefix}/nginx.conf", "w").write(conf)
    sh(f"nginx -p {prefix} -c {prefix}/nginx.conf")
    return prefix


def nginx_stop(prefix):
    subprocess.run(f"kill -QUIT $(cat {prefix}/nginx.pid)", shell=True)
    time.sleep(0.5)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def latency(args, archive, work, listing, svc_rel):
    port = random.randint(20000, 40000)
    mnt = f"{work}/mnt-http"
    with Mount(args.dcmfs, archive, mnt, f"--no-persistent-cache -o iiif_base=http://127.0.0.1:{port}"):
        prefix = nginx_start(work, mnt, port)
        try:
            tiles = [l.strip()[2:] for l in open(listing)]
            random.seed(7)
            sample = random.sample(tiles, min(args.cold_tiles, len(tiles)))
            cold = []
            for t in sample:
                out = sh(f"curl -s -o /dev/null -w '%{{http_code}} %{{time_total}}' "
                         f"http://127.0.0.1:{port}{svc_rel}/{t}")
                code, secs = out.split()
                if code == "200":
                    cold.append(float(secs) * 1000)
            url = f"http://127.0.0.1:{port}{svc_rel}/{sample[0]}"
            w = sh(f"wrk -t2 -c8 -d{args.wrk_seconds}s --latency {url}")
            lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", w, re.M))
            rps = re.search(r"Requests/sec:\s+(\S+)", w).group(1)
        finally:
            nginx_stop(prefix)
    return cold, lat, rps


def bench(args, kind, archive, work, raw, w, h, tile):
    """Cold: the tiles (what vips writes) first, then the full-image sizes
    (full/max, full/w,h: listed by the mount, not written by vips); warm: all."""
    mnt = f"{work}/mnt"
    tiles_cold, sizes_cold, warms, vipss = [], [], [], []
    n = n_tiles = vips_n = 0
    listing = f"{work}/{kind}.list"
    for _ in range(args.repeats):
        shutil.rmtree(f"{archive}/cache", ignore_errors=True)  # cold: empty derived cache
        with Mount(args.dcmfs, archive, mnt):
            svc = service(mnt, kind)
            n = tile_list(svc, listing)
            sh(f"grep -v '^./full/' {listing} > {listing}.tiles; grep '^./full/' {listing} > {listing}.sizes")
            n_tiles = int(sh(f"wc -l < {listing}.tiles"))
            tiles_cold.append(read_all(svc, f"{listing}.tiles"))
            sizes_cold.append(read_all(svc, f"{listing}.sizes"))
            warms.append(read_all(svc, listing))
            svc_rel = svc[len(mnt):]
        t, vips_n = vips_tiles(raw, w, h, tile, work)
        vipss.append(t)
    cold, sizes, warm, vips = (statistics.median(x) for x in (tiles_cold, sizes_cold, warms, vipss))
    print(f"{kind}: {w}x{h}, mount lists {n} files: {n_tiles} tiles + {n - n_tiles} full-image "
          f"sizes; vips dzsave writes {vips_n} tiles")
    print(f"  mount cold, tiles  {cold:8.2f} s  {n_tiles / cold:9.1f} tiles/s")
    print(f"  mount cold, sizes  {sizes:8.2f} s  (full/max and the listed sizes)")
    print(f"  mount warm, all    {warm:8.2f} s  {n / warm:9.1f} files/s")
    print(f"  vips dzsave        {vips:8.2f} s  {vips_n / vips:9.1f} tiles/s")
    print(f"  ratio mount/vips (tiles/s of vips over tiles/s of the mount): cold "
          f"{(vips_n / vips) / (n_tiles / cold):.2f}, warm {(vips_n / vips) / (n / warm):.2f}",
          flush=True)
    return listing + ".tiles", svc_rel


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dcmfs", default=f"{SRC}/build/tools/dcmfs")
    p.add_argument("--big", default="20000x15000")
    p.add_argument("--wsi", default="10240x7680")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--cold-tiles", type=int, default=100)
    p.add_argument("--wrk-seconds", type=int, default=5)
    args = p.parse_args()
    bw, bh = map(int, args.big.split("x"))
    ww, wh = map(int, args.wsi.split("x"))
    work = tempfile.mkdtemp(prefix="iiif-bench-", dir=os.environ.get("TMPDIR", "/tmp"))
    try:
        data, archive = f"{work}/data", f"{work}/archive"
        sh(f"/usr/bin/python3 {SRC}/tests/integration/iiif_data.py {data} --no-small "
           f"--big-rgb {args.big} --wsi-size {args.wsi} --wsi-raw")
        sh(f"{args.dcmfs} ingest {archive} {data}/big {data}/wsi/level-*.dcm --no-progress")
        big_dcm = f"{data}/big/0.dcm"
        big_raw = f"{work}/big.rgb"
        # The native pixels are the file's last bw*bh*3 bytes (Pixel Data is last).
        size = os.path.getsize(big_dcm)
        sh(f"tail -c {bw * bh * 3} {big_dcm} > {big_raw}")
        assert os.path.getsize(big_raw) == bw * bh * 3 < size
        bench(args, "big", archive, work, big_raw, bw, bh, 512)
        listing, svc_rel = bench(args, "wsi", archive, work, f"{data}/wsi/base.rgb", ww, wh, 256)
        cold, lat, rps = latency(args, archive, work, listing, svc_rel)
        print(f"wsi over nginx (loopback): cold first reads of {len(cold)} random tiles "
              f"p50 {percentile(cold, 50):.1f} ms p99 {percentile(cold, 99):.1f} ms; "
              f"cached (wrk -t2 -c8): p50 {lat.get('50')} p99 {lat.get('99')}, {rps} req/s")
    finally:
        subprocess.run(["fusermount3", "-u", f"{work}/mnt"], stderr=subprocess.DEVNULL)
        subprocess.run(["fusermount3", "-u", f"{work}/mnt-http"], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
