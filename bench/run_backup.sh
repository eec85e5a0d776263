#!/usr/bin/env bash
# One command: `dcmfs backup` of an archive of >= 20 000 instances against
# `cp -a` of the same archive folder, side by side, REPEATS times each into
# fresh destinations on the same filesystem; prints medians and the ratio,
# then checks the last backup with `dcmfs verify`.
#   bash bench/run_backup.sh [REPEATS]      (DCMFS=path/to/dcmfs, WORK=dir)
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${1:-3}
DCMFS=${DCMFS:-build/tools/dcmfs}
[[ -x $DCMFS ]] || bash scripts/build.sh
WORK=${WORK:-$(mktemp -d /var/tmp/dcmfs-bench-backup.XXXXXX)}
trap 'rm -rf "$WORK"' EXIT

# 32x32 images keep the set small on disk; the count is what a backup pays for.
echo "making the archive (synthetic set, 32x32, many slices) ..."
"$DCMFS" synth "$WORK/dicom" --rows 32 --columns 32 --ct-slices 5200 --mr-slices 3500 >/dev/null
"$DCMFS" ingest --no-progress "$WORK/archive" "$WORK/dicom" | grep -E "^(files|new instances):"
rm -rf "$WORK/dicom"
instances=$("$DCMFS" status "$WORK/archive" | awk '/^instances:/ {print $2}')
echo "archive: $instances instances, $(du -sh "$WORK/archive" | cut -f1), $(find "$WORK/archive" -type f | wc -l) files"
(( instances >= 20000 )) || { echo "too few instances: $instances" >&2; exit 1; }

seconds() { local s; s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# dcmfs backup fsyncs what it writes (a backup is for surviving a crash);
# cp -a does not, so it is timed both alone and followed by sync(1).
cp_sync() { cp -a "$1" "$2" && sync; }
dcmfs_times=(); cp_times=(); cps_times=()
for i in $(seq "$REPEATS"); do
  sync
  dcmfs_times+=("$(seconds "$DCMFS" backup "$WORK/archive" "$WORK/backup$i")")
  sync
  cp_times+=("$(seconds cp -a "$WORK/archive" "$WORK/copy$i")")
  sync
  cps_times+=("$(seconds cp_sync "$WORK/archive" "$WORK/copys$i")")
  [[ $i == "$REPEATS" ]] || rm -rf "$WORK/backup$i" "$WORK/copy$i" "$WORK/copys$i"
done
d=$(printf '%s\n' "${dcmfs_times[@]}" | median)
c=$(printf '%s\n' "${cp_times[@]}" | median)
cs=$(printf '%s\n' "${cps_times[@]}" | median)
printf 'dcmfs backup: median %.2f s  (runs: %s)\n' "$d" "${dcmfs_times[*]}"
printf 'cp -a:        median %.2f s  (runs: %s)\n' "$c" "${cp_times[*]}"
printf 'cp -a; sync:  median %.2f s  (runs: %s)\n' "$cs" "${cps_times[*]}"
printf 'ratio cp -a / dcmfs backup: %.1fx; (cp -a; sync) / dcmfs backup: %.1fx\n' \
  "$(echo "$c / $d" | bc -l)" "$(echo "$cs / $d" | bc -l)"
"$DCMFS" verify "$WORK/backup$REPEATS" | head -2
