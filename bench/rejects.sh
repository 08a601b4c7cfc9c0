#!/bin/sh
# The price of --rejects: the clean 1M-row bench file without and with --rejects, and files
# with 0.1% bad rows (client-side bad values; half bad values, half duplicate keys that the
# server refuses). Each run starts from an empty table; runs alternate. Prints TSV: variant,
# seconds, peak RSS (KiB), rows loaded, rows rejected.
# Usage: bench/rejects.sh URL DIR ROUNDS   (DIR holds events_1m.csv; bench/make_bad_rows.py DIR
# makes events_1m_bad_*.csv)
set -eu
URL=$1
DIR=$2
ROUNDS=${3:-3}
BARGE=${BARGE:-target/release/barge}
T=$(mktemp -d)
printf 'variant\tseconds\tpeak_rss_kib\trows\trejected\n'
for r in $(seq "$ROUNDS"); do
  for v in clean clean_rejects bad_client bad_mixed; do
    psql -q "$URL" -c "TRUNCATE events; DROP TABLE IF EXISTS barge_checkpoint" 2>/dev/null
    case $v in
      clean) f=$DIR/events_1m.csv; extra="" ;;
      clean_rejects) f=$DIR/events_1m.csv; extra="--rejects $T/rej.csv" ;;
      bad_client) f=$DIR/events_1m_bad_client.csv; extra="--rejects $T/rej.csv" ;;
      bad_mixed) f=$DIR/events_1m_bad_mixed.csv; extra="--rejects $T/rej.csv" ;;
    esac
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %M' -o "$T/t" "$BARGE" load "$f" --into "$URL" --table events --quiet $extra || true
    rows=$(psql -At "$URL" -c 'SELECT count(*) FROM events')
    rej=0
    [ -f "$T/rej.csv.errors.jsonl" ] && rej=$(wc -l < "$T/rej.csv.errors.jsonl")
    rm -f "$T"/rej.csv*
    printf '%s\t%s\t%s\t%s\t%s\n' "$v" "$(tail -1 "$T/t" | cut -d' ' -f1)" "$(tail -1 "$T/t" | cut -d' ' -f2)" "$rows" "$rej"
  done
done
rm -rf "$T"
