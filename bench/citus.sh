#!/bin/sh
# barge against psql \copy into a hash-distributed `events` on a throwaway Citus cluster on
# this machine: a coordinator and two workers (DIR/citus{0,1,2}, ports 55440-55442, default
# settings but shared_preload_libraries), runs alternating, the table emptied before each.
# Prints TSV: method, round, seconds, peak RSS (KiB), rows, checksum.
# Needs Citus built into PostgreSQL 15 (../shared/vendor/citus-build.sh). Run as root.
# Usage: bench/citus.sh DIR FILE ROUNDS  (FILE: the bench's events CSV; BARGE_ARGS for barge)
set -eu
DIR=$1
FILE=$2
ROUNDS=${3:-3}
BARGE=${BARGE:-target/release/barge}
BIN=/usr/lib/postgresql/15/bin
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$DIR"
chown postgres "$DIR"
for k in 0 1 2; do
  d=$DIR/citus$k
  port=$((55440 + k))
  if [ ! -d "$d" ]; then
    su postgres -c "$BIN/initdb -D $d -U postgres -A trust -E UTF8 --no-sync" >/dev/null
    echo "shared_preload_libraries = 'citus'" >> "$d/postgresql.conf"
    echo "max_prepared_transactions = 100" >> "$d/postgresql.conf"
  fi
  su postgres -c "HOME=$DIR $BIN/pg_ctl -D $d -l $d/log -o '-p $port -c listen_addresses=127.0.0.1' -w status" >/dev/null 2>&1 ||
    su postgres -c "HOME=$DIR $BIN/pg_ctl -D $d -l $d/log -o '-p $port -c listen_addresses=127.0.0.1' -w start" >/dev/null
  psql -X -q -h 127.0.0.1 -p $port -U postgres -c "CREATE EXTENSION IF NOT EXISTS citus" 2>/dev/null
done
URL=postgresql://postgres@127.0.0.1:55440/postgres
P="psql -X -q -At -d $URL"
if [ "$($P -c "SELECT count(*) FROM pg_dist_node")" = 0 ]; then
  $P -c "SELECT citus_set_coordinator_host('127.0.0.1', 55440)" \
     -c "SELECT citus_add_node('127.0.0.1', 55441)" -c "SELECT citus_add_node('127.0.0.1', 55442)" >/dev/null
fi
if ! $P -c "SELECT 1 FROM events LIMIT 0" >/dev/null 2>&1; then
  python3 "$HERE/../../shared/bench/gen_rows.py" --ddl | $P
  $P -c "SELECT create_distributed_table('events', 'id')" >/dev/null
fi
printf 'method\tround\tseconds\tpeak_kib\trows\tchecksum\n'
for round in $(seq "$ROUNDS"); do
  for m in psql_copy barge; do
    $P -c "TRUNCATE events" -c "DROP TABLE IF EXISTS barge_checkpoint"
    start=$(date +%s.%N)
    case $m in
      psql_copy)
        /usr/bin/time -o /tmp/citus-bench.time -f '%M' psql -X -q -d "$URL" \
          -c "\\copy events FROM '$FILE' WITH (FORMAT csv, HEADER true)" ;;
      barge)
        /usr/bin/time -o /tmp/citus-bench.time -f '%M' $BARGE load "$FILE" --into "$URL" \
          --table events --quiet ${BARGE_ARGS:-} ;;
    esac
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    peak=$(tail -1 /tmp/citus-bench.time)
    rows=$($P -c "SELECT count(*) FROM events")
    sum=$($P -c "SELECT md5(string_agg(md5(e::text), '' ORDER BY id)) FROM events e")
    printf '%s\t%s\t%.2f\t%s\t%s\t%s\n' "$m" "$round" "$secs" "$peak" "$rows" "$sum"
  done
done
