#!/usr/bin/env bash
# The sample: installs, builds, writes a synthetic DICOM set, ingests it into
# an archive, mounts it, shows what the mount holds, and unmounts.
set -eu  # no pipefail: `cmd | head` ends cmd early by design
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
DCMFS=$PWD/build/tools/dcmfs
WORK=${DEMO_DIR:-/tmp/dcmfs-demo}
fusermount3 -u "$WORK/mnt" 2>/dev/null || true
rm -rf "$WORK" && mkdir -p "$WORK/mnt"

"$DCMFS" synth "$WORK/dicom"
"$DCMFS" ingest "$WORK/archive" "$WORK/dicom"
"$DCMFS" mount "$WORK/archive" "$WORK/mnt"
trap 'fusermount3 -u "$WORK/mnt"' EXIT

echo; echo "== the mounted tree (patients view) =="
tree -L 3 "$WORK/mnt/patients" 2>/dev/null || find "$WORK/mnt/patients" -maxdepth 3
echo; echo "== the same instances by UID (studies view) =="
find "$WORK/mnt/studies" -maxdepth 2 | head -n 6
# The series folder with the most files.
series=$(find "$WORK/mnt/patients" -mindepth 3 -maxdepth 3 -type d | while read -r d; do
  echo "$(ls "$d" | wc -l) $d"; done | sort -rn | head -n 1 | cut -d' ' -f2-)
echo; echo "== one series folder: $series =="
ls -l "$series" | head -n 12
echo; echo "== sha256sum -c SHA256SUMS in it =="
(cd "$series" && sha256sum -c --quiet SHA256SUMS && echo "all originals verified")
echo; echo "== derived on read: the series as a NIfTI volume, pictures, a mesh, IIIF =="
/usr/bin/python3 -c 'import sys, nibabel as nib; i = nib.load(sys.argv[1]);
print("series.nii:", i.shape, i.get_data_dtype(), "voxel mm", tuple(round(float(z), 2) for z in i.header.get_zooms()))
print("orientation:", "".join(nib.aff2axcodes(i.affine)))' "$series/series.nii" || true
file "$series/preview.png" 2>/dev/null || ls -l "$series/preview.png"
echo "mpr: $(ls "$series/mpr/axial" | wc -l) axial, $(ls "$series/mpr/coronal" | wc -l) coronal, $(ls "$series/mpr/sagittal" | wc -l) sagittal PNGs"
bone=$(find "$WORK/mnt/studies" -mindepth 4 -maxdepth 4 -name bone.stl -print -quit)
if [[ -n "$bone" ]]; then
  ls -l "$bone"
  admesh "$bone" 2>/dev/null | grep -E "Number of facets|Volume|holes|Degenerate" || true
fi
info=$(find "$WORK/mnt/studies" -mindepth 5 -maxdepth 5 -name info.json -print -quit)
[[ -n "$info" ]] && head -c 400 "$info" && echo
echo; echo "== DICOM fields as extended attributes =="
getfattr -d "$series" 2>/dev/null | head -n 12
echo; echo "== the de-identified twin (anonymized view) =="
(tree -L 3 "$WORK/mnt/anonymized" 2>/dev/null || find "$WORK/mnt/anonymized" -maxdepth 3) \
  > "$WORK/anonymized.txt"
head -n 16 "$WORK/anonymized.txt"
anon=$(find "$WORK/mnt/anonymized" -name '*.dcm' -print -quit)
dcmdump -q +P PatientName +P PatientID +P StudyInstanceUID +P PatientIdentityRemoved "$anon"
echo; echo "== each study as a BagIt bag, and the archive's fixity manifest =="
bag=$(find "$WORK/mnt/bagit" -mindepth 1 -maxdepth 1 -print -quit)
ls "$bag"
(cd "$bag" && sha256sum -c --quiet manifest-sha256.txt && echo "bag payload verified")
(cd "$WORK/mnt" && sha256sum -c --quiet .dcmfs/MANIFEST-sha256.txt && \
  echo "every instance verified against /.dcmfs/MANIFEST-sha256.txt")
echo; echo "== a file dropped into /incoming is ingested when closed =="
mkdir -p "$WORK/more"
cp "$(find "$WORK/dicom" -name '*.dcm' -print -quit)" "$WORK/more/extra.dcm"
dcmodify -nb -gin "$WORK/more/extra.dcm"   # a new SOP Instance UID: a new instance
echo "not DICOM" > "$WORK/more/notes.txt"
before=$(find "$WORK/mnt/patients" -name '*.dcm' | wc -l)
cp -r "$WORK/more" "$WORK/mnt/incoming/"
sleep 3
echo "instances under /patients: $before before the copy, $(find "$WORK/mnt/patients" -name '*.dcm' | wc -l) after"
cat "$WORK/mnt/incoming/REJECTED.txt"
echo; echo "== /.dcmfs/stats.json =="
cat "$WORK/mnt/.dcmfs/stats.json"; echo
