#!/bin/sh
# Load methods side by side into one table: alternating rounds, each from an empty table after
# a CHECKPOINT. Prints TSV: method, round, wall seconds, client CPU seconds, peak RSS (KiB),
# and the loaded rows' checksum (equal across methods).
# Usage: bench/rounds.sh URL TABLE CSV BIN_DIR ROUNDS
#   METHODS (default "copy_bin2 copy_bin2_socket barge"), any of:
#     copy_bin2         two sessions, each the server's own binary COPY of half the rows from a
#                       pre-encoded file: no socket, no client (the bench's yardstick)
#     copy_bin2_socket  the same two files streamed by two psql `\copy ... (FORMAT binary)`
#                       over the URL's connection: a client that parses nothing, so the limit
#                       for any client that sends over a socket
#     barge             barge load CSV (defaults)
#     psql_copy         psql `\copy ... (FORMAT csv, HEADER true)` of the CSV
#   BIN_DIR holds h0.bin and h1.bin, the table's rows in two halves as the server writes them
#   (`COPY (SELECT ... WHERE id % 2 = 0) TO '.../h0.bin' (FORMAT binary)`): run_bench.sh's
#   `OUTDIR/bin` for events; bench/narrow.sh makes its own.
set -eu
URL=$1 TABLE=$2 CSV=$3 BIN=$4 ROUNDS=${5:-5}
METHODS=${METHODS:-copy_bin2 copy_bin2_socket barge}
BARGE=${BARGE:-target/release/barge}
sql() { psql -qAtX "$URL" -v ON_ERROR_STOP=1 -c "$1"; }
halves() { # $1: COPY or \\copy (escaped once more for sh -c)
  printf '%s\n' "psql '$URL' -qX -c \"$1 $TABLE FROM '$BIN/h0.bin' (FORMAT binary)\" & psql '$URL' -qX -c \"$1 $TABLE FROM '$BIN/h1.bin' (FORMAT binary)\"; wait"
}
T=$(mktemp -d)
printf 'method\tround\tseconds\tclient_cpu_s\tpeak_rss_kib\trows_checksum\n'
for r in $(seq "$ROUNDS"); do
  for m in $METHODS; do
    sql "TRUNCATE $TABLE; DROP TABLE IF EXISTS barge_checkpoint; CHECKPOINT" 2>/dev/null
    case $m in
      copy_bin2) cmd=$(halves COPY) ;;
      copy_bin2_socket) cmd=$(halves '\\copy') ;;
      barge) cmd="'$BARGE' load '$CSV' --into '$URL' --table $TABLE --quiet" ;;
      psql_copy) cmd="psql '$URL' -qX -c \"\\\\copy $TABLE FROM '$CSV' (FORMAT csv, HEADER true)\"" ;;
      *) echo "unknown method $m" >&2; exit 2 ;;
    esac
    /usr/bin/time -f '%e %U %S %M' -o "$T/t" sh -c "$cmd"
    sum=$(sql "SELECT count(*) || ':' || sum(hashtextextended(x::text, 0)) FROM $TABLE x")
    read -r wall usr sys rss <"$T/t"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$r" "$wall" "$(echo "$usr + $sys" | bc)" "$rss" "$sum"
  done
done
rm -rf "$T"
