#!/bin/sh
# Where the server's limit is for a client: the bench's copy_bin2 (two sessions, each the
# server's own binary COPY of pre-encoded rows from a file: no socket, no client), the same
# two pre-encoded files streamed by two psql `\copy ... (FORMAT binary)` over the URL's
# connection (a client that parses nothing: the limit for any client that sends over a
# socket), and barge from the CSV. Alternating rounds, each from an empty table after a
# CHECKPOINT. Prints TSV: method, round, wall seconds, client CPU seconds, peak RSS (KiB),
# and the loaded rows' checksum (equal across methods).
# Usage: bench/socket_limit.sh URL TABLE CSV BIN_DIR ROUNDS
#   BIN_DIR holds h0.bin and h1.bin, the table's rows in two halves as the server writes them
#   (`COPY (SELECT ... WHERE id % 2 = 0) TO '.../h0.bin' (FORMAT binary)`): run_bench.sh's
#   `OUTDIR/bin` for events, bench/narrow.sh's DIR for narrow.
set -eu
URL=$1 TABLE=$2 CSV=$3 BIN=$4 ROUNDS=${5:-5}
BARGE=${BARGE:-target/release/barge}
sql() { psql -qAtX "$URL" -v ON_ERROR_STOP=1 -c "$1"; }
T=$(mktemp -d)
printf 'method\tround\tseconds\tclient_cpu_s\tpeak_rss_kib\trows_checksum\n'
for r in $(seq "$ROUNDS"); do
  for m in copy_bin2 copy_bin2_socket barge; do
    sql "TRUNCATE $TABLE; DROP TABLE IF EXISTS barge_checkpoint; CHECKPOINT" 2>/dev/null
    case $m in
      copy_bin2) cmd="psql '$URL' -qX -c \"COPY $TABLE FROM '$BIN/h0.bin' (FORMAT binary)\" & psql '$URL' -qX -c \"COPY $TABLE FROM '$BIN/h1.bin' (FORMAT binary)\"; wait" ;;
      copy_bin2_socket) cmd="psql '$URL' -qX -c \"\\\\copy $TABLE FROM '$BIN/h0.bin' (FORMAT binary)\" & psql '$URL' -qX -c \"\\\\copy $TABLE FROM '$BIN/h1.bin' (FORMAT binary)\"; wait" ;;
      barge) cmd="'$BARGE' load '$CSV' --into '$URL' --table $TABLE --quiet" ;;
    esac
    /usr/bin/time -f '%e %U %S %M' -o "$T/t" sh -c "$cmd"
    sum=$(sql "SELECT count(*) || ':' || sum(hashtextextended(x::text, 0)) FROM $TABLE x")
    read -r wall usr sys rss <"$T/t"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$r" "$wall" "$(echo "$usr + $sys" | bc)" "$rss" "$sum"
  done
done
rm -rf "$T"
