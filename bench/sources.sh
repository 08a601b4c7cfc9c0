#!/bin/sh
# barge's sources on the 1M-row bench file: plain CSV, gzip, zstd and NDJSON, against psql \copy
# of the plain CSV. Each run starts from an empty table; runs alternate. Prints TSV: method,
# seconds, peak RSS (KiB), rows in the table.
# Usage: bench/sources.sh URL DIR ROUNDS   (DIR holds events_1m.csv, events_1m.csv.gz,
# events_1m.csv.zst and events_1m.ndjson; the last made from the CSV with typed JSON values)
set -eu
URL=$1
DIR=$2
ROUNDS=${3:-3}
BARGE=${BARGE:-target/release/barge}
T=$(mktemp -d)
printf 'method\tseconds\tpeak_rss_kib\trows\n'
for r in $(seq "$ROUNDS"); do
  for m in psql_copy csv csv.gz csv.zst ndjson; do
    psql -q "$URL" -c "TRUNCATE events; DROP TABLE IF EXISTS barge_checkpoint" 2>/dev/null
    if [ "$m" = psql_copy ]; then
      /usr/bin/time -f '%e %M' -o "$T/t" psql -q "$URL" -c "\\copy events FROM '$DIR/events_1m.csv' WITH (FORMAT csv, HEADER true)"
    elif [ "$m" = ndjson ]; then
      /usr/bin/time -f '%e %M' -o "$T/t" "$BARGE" load "$DIR/events_1m.ndjson" --into "$URL" --table events --quiet
    else
      /usr/bin/time -f '%e %M' -o "$T/t" "$BARGE" load "$DIR/events_1m.$m" --into "$URL" --table events --quiet
    fi
    rows=$(psql -At "$URL" -c 'SELECT count(*) FROM events')
    printf '%s\t%s\t%s\t%s\n' "$m" "$(tail -1 "$T/t" | cut -d' ' -f1)" "$(tail -1 "$T/t" | cut -d' ' -f2)" "$rows"
  done
done
rm -rf "$T"
