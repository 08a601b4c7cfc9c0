#!/bin/sh
# Narrow, integer-heavy rows (the issue's second shape): 19 columns, 13 of them integers, no
# index, 1M rows made here (deterministic). Per round, each from an empty table after a
# CHECKPOINT, alternating: the server's own binary COPY of the same rows from two pre-encoded
# files in two sessions (copy_bin2: its ingest limit, no client), barge (defaults), and
# psql \copy, run by bench/rounds.sh (METHODS picks others). Prints TSV: method, round, wall
# seconds, client CPU seconds, peak RSS (KiB), and a checksum of the loaded rows (equal across
# methods).
# Usage: bench/narrow.sh URL ROUNDS [DIR]   (DIR keeps the CSV and binary files; default /tmp/narrow)
set -eu
URL=$1
ROUNDS=${2:-3}
DIR=${3:-/tmp/narrow}
CSV=$DIR/narrow_1m.csv
mkdir -p "$DIR"
chmod 777 "$DIR"
sql() { psql -qAtX "$URL" -v ON_ERROR_STOP=1 -c "$1"; }
if [ ! -s "$CSV" ]; then
  python3 - "$CSV" <<'EOF'
import random, sys
random.seed(14)
with open(sys.argv[1], "w") as f:
    f.write("trip_id,vendor,passengers,distance_m,rate_code,pickup_zone,dropoff_zone,payment,"
            "fare_cents,extra_cents,tax_cents,tip_cents,tolls_cents,total,duration_s,"
            "pickup_at,dropoff_at,surcharge,flag\n")
    for i in range(1, 1_000_001):
        start = 1_700_000_000 + i * 3 + random.randrange(60)
        dur = random.randrange(120, 3600)
        fare = random.randrange(250, 9000)
        f.write(f"{i},{random.randrange(1, 3)},{random.randrange(0, 7)},{random.randrange(100, 40000)},"
                f"{random.randrange(1, 7)},{random.randrange(1, 266)},{random.randrange(1, 266)},"
                f"{random.randrange(1, 5)},{fare},{random.choice((0, 50, 100))},50,"
                f"{random.randrange(0, 2000)},{random.choice((0, 0, 0, 655))},"
                f"{fare / 100 + random.randrange(0, 30):.2f},{dur},"
                f"{start},{start + dur},{random.choice(('0.30', '1.00', '2.50'))},"
                f"{random.choice(('N', 'Y'))}\n")
EOF
fi
sql "DROP TABLE IF EXISTS narrow; CREATE TABLE narrow (
  trip_id bigint, vendor smallint, passengers smallint, distance_m integer, rate_code smallint,
  pickup_zone integer, dropoff_zone integer, payment smallint, fare_cents integer,
  extra_cents integer, tax_cents integer, tip_cents integer, tolls_cents integer,
  total double precision, duration_s integer, pickup_at bigint, dropoff_at bigint,
  surcharge numeric(6,2), flag text)"
# The same rows, encoded by the server itself, in two halves.
sql "COPY narrow FROM '$CSV' (FORMAT csv, HEADER true)"
sql "COPY (SELECT * FROM narrow WHERE trip_id % 2 = 0) TO '$DIR/h0.bin' (FORMAT binary)"
sql "COPY (SELECT * FROM narrow WHERE trip_id % 2 = 1) TO '$DIR/h1.bin' (FORMAT binary)"
METHODS=${METHODS:-copy_bin2 barge psql_copy} "$(dirname "$0")/rounds.sh" "$URL" narrow "$CSV" "$DIR" "$ROUNDS"
[ -n "${KEEP:-}" ] || sql "DROP TABLE narrow"
