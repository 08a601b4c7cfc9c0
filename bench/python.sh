#!/bin/sh
# barge's Python package against the Python yardsticks, on the 1M-row bench file in the
# shared bench's PostgreSQL: each method in its own process under GNU time (peak RSS), the
# table emptied before each run, runs alternating. Prints TSV: method, round, wall seconds of
# the process, seconds of the load itself (after untimed in-memory preparation), peak RSS
# (KiB), rows in the table.
# Methods: bench/python_methods.py (barge_*, adbc_arrow), the seed pattern
# (../shared/bench/seed_sqlalchemy.py, SQLAlchemy + asyncpg), asyncpg's typed copy
# (../shared/bench/peers.py asyncpg_copy), and the CLI.
# Usage: bench/python.sh URL FILE ROUNDS   (PYTHON: a Python with barge, pyarrow, pandas,
# sqlalchemy[asyncio], asyncpg, adbc-driver-postgresql installed)
set -eu
URL=$1
FILE=$2
ROUNDS=${3:-3}
PYTHON=${PYTHON:-python3}
BARGE=${BARGE:-target/release/barge}
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=$HERE/../../shared/bench
METHODS=${METHODS:-"cli barge_path barge_dicts barge_arrow barge_pandas asyncpg_copy sa_asyncpg barge_arrow_text adbc_arrow"}
psql -X -q -d "$URL" -c "CREATE TABLE IF NOT EXISTS events_text (LIKE events INCLUDING ALL)" \
  -c "ALTER TABLE events_text ALTER tag TYPE text, ALTER payload TYPE text" 2>/dev/null || true
printf 'method\tround\twall_s\tload_s\tpeak_kib\trows\n'
for round in $(seq "$ROUNDS"); do
  for m in $METHODS; do
    table=events
    case $m in *text|adbc*) table=events_text ;; esac
    psql -X -q -d "$URL" -c "TRUNCATE $table" -c "DROP TABLE IF EXISTS barge_checkpoint"
    case $m in
      cli) cmd="$BARGE load $FILE --into $URL --table events --quiet" ;;
      sa_asyncpg) cmd="$PYTHON $SHARED/seed_sqlalchemy.py --url $URL --csv $FILE --driver asyncpg" ;;
      asyncpg_copy) cmd="$PYTHON $SHARED/peers.py asyncpg_copy $URL $FILE" ;;
      *) cmd="$PYTHON $HERE/python_methods.py $m $URL $FILE" ;;
    esac
    out=$(/usr/bin/time -f 'TIME %e %M' $cmd 2>&1 >/tmp/py-bench.out | grep '^TIME' || true)
    wall=$(echo "$out" | cut -d' ' -f2)
    peak=$(echo "$out" | cut -d' ' -f3)
    load=$(awk 'NF==2 && $1 ~ /^[0-9]+$/ {print $2}' /tmp/py-bench.out)
    rows=$(psql -X -At -d "$URL" -c "SELECT count(*) FROM $table")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$round" "$wall" "${load:--}" "$peak" "$rows"
  done
done
