#!/usr/bin/env bash
# One command: DICOM network ingest, instances/s received through DCMTK's
# storescu with 1 and with 4 parallel associations, dcmfs (`dcmfs scp`, every
# instance durable -- blob, catalog, WAL fsynced -- before its C-STORE
# response) side by side with Orthanc (Debian's package, SQLite index,
# default storage in a temporary folder), same files, same client, fresh
# empty archive/storage for every run. Prints medians and ratios.
#   bash bench/run_scp.sh [REPEATS]      (DCMFS=path/to/dcmfs)
# Two client settings are measured: storescu as Debian ships it (Nagle's
# algorithm on) and with TCP_NODELAY=1 in its environment.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${1:-3}
DCMFS=${DCMFS:-build/tools/dcmfs}
[[ -x $DCMFS ]] || bash scripts/build.sh
WORK=$(mktemp -d /var/tmp/dcmfs-bench-scp.XXXXXX)
SERVER_PID=""
cleanup() { [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
PORT=$((20000 + RANDOM % 20000))

"$DCMFS" synth "$WORK/dicom" --ct-slices 100 --mr-slices 40 >/dev/null
N=$(find "$WORK/dicom" -type f | wc -l)
# Each transfer syntax of the set in a context of its own: files travel as stored.
cat > "$WORK/storescu.cfg" <<'CFG'
[[TransferSyntaxes]]
[RLE]
TransferSyntax1 = RLELossless
[Deflated]
TransferSyntax1 = DeflatedLittleEndianExplicit
[ELE]
TransferSyntax1 = LittleEndianExplicit
[EBE]
TransferSyntax1 = BigEndianExplicit
[[PresentationContexts]]
[Synthetic]
PresentationContext1 = CTImageStorage\RLE
PresentationContext2 = CTImageStorage\ELE
PresentationContext3 = MRImageStorage\Deflated
PresentationContext4 = MRImageStorage\ELE
PresentationContext5 = MRImageStorage\EBE
[[Profiles]]
[Synthetic]
PresentationContexts = Synthetic
CFG
# Four lists of series folders for four associations.
mapfile -t SERIES < <(find "$WORK/dicom" -mindepth 3 -maxdepth 3 -type d | sort)
LISTS=("" "" "" "")
for i in "${!SERIES[@]}"; do LISTS[$((i % 4))]+=" ${SERIES[$i]}"; done

wait_for_echo() {
  for _ in $(seq 200); do echoscu -aec "$1" 127.0.0.1 "$PORT" 2>/dev/null && return 0; sleep 0.1; done
  echo "server did not answer C-ECHO" >&2; return 1
}

start_dcmfs() {
  rm -rf "$WORK/server"; mkdir -p "$WORK/empty"
  "$DCMFS" ingest --no-progress "$WORK/server" "$WORK/empty" >/dev/null 2>&1
  "$DCMFS" scp "$WORK/server" --port "$PORT" --aet DCMFS 2>/dev/null & SERVER_PID=$!
  wait_for_echo DCMFS
}

start_orthanc() {
  rm -rf "$WORK/server"; mkdir -p "$WORK/server"
  cat > "$WORK/orthanc.json" <<JSON
{ "Name": "bench", "StorageDirectory": "$WORK/server", "IndexDirectory": "$WORK/server",
  "DicomAet": "ORTHANC", "DicomPort": $PORT, "HttpPort": $((PORT + 1)),
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "DicomCheckCalledAet": false,
  "Plugins": [] }
JSON
  Orthanc "$WORK/orthanc.json" >/dev/null 2>&1 & SERVER_PID=$!
  wait_for_echo ORTHANC
}

stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

# send AET ASSOCIATIONS ENV: prints seconds for all N files.
send() {
  local aet=$1 assocs=$2 env=$3 start end
  start=$(date +%s.%N)
  if [[ $assocs == 1 ]]; then
    env $env storescu -xf "$WORK/storescu.cfg" Synthetic -aec "$aet" +sd +r 127.0.0.1 "$PORT" "$WORK/dicom" >/dev/null 2>&1
  else
    for l in "${LISTS[@]}"; do
      # shellcheck disable=SC2086
      env $env storescu -xf "$WORK/storescu.cfg" Synthetic -aec "$aet" +sd +r 127.0.0.1 "$PORT" $l >/dev/null 2>&1 &
    done
    wait $(jobs -p | grep -v "^$SERVER_PID$")
  fi
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "files: $N (synthetic set, 64x64, CT/MR, RLE/deflated/big-endian/explicit VR)"
printf '%-28s %-8s %12s %12s %8s\n' "client" "assocs" "dcmfs inst/s" "Orthanc i/s" "ratio"
for env in "TCP_NODELAY=0" "TCP_NODELAY=1"; do
  for assocs in 1 4; do
    d=(); o=()
    for _ in $(seq "$REPEATS"); do
      start_dcmfs; d+=("$(send DCMFS "$assocs" "$env")")
      got=$("$DCMFS" status "$WORK/server" | awk '/^instances:/ {print $2}'); stop_server
      [[ $got == "$N" ]] || echo "warning: dcmfs stored $got of $N" >&2
      start_orthanc; o+=("$(send ORTHANC "$assocs" "$env")"); stop_server
    done
    dm=$(printf '%s\n' "${d[@]}" | median); om=$(printf '%s\n' "${o[@]}" | median)
    label=$([[ $env == TCP_NODELAY=1 ]] && echo "storescu TCP_NODELAY=1" || echo "storescu as shipped")
    printf '%-28s %-8s %12.0f %12.0f %7.1fx\n' "$label" "$assocs" "$(echo "$N / $dm" | bc -l)" \
      "$(echo "$N / $om" | bc -l)" "$(echo "$om / $dm" | bc -l)"
  done
done
