#!/bin/sh
# Indexes kept up row by row against built at the end: the 1M-row bench file into the bench's
# events table with its primary key alone, and with three more indexes (user_id, created_at,
# tag). Per table: the default (resumable, 2 writers; an empty table's indexes that no row can
# fail built at its end), the same with --keep-indexes, --atomic --keep-indexes, and --atomic
# (an empty table's indexes built at the end of its transaction). Each run starts from an
# empty table; runs alternate. Prints TSV: table, variant, seconds, peak RSS (KiB), rows and a
# checksum of the loaded rows (equal across variants), and whether the indexes afterwards are
# the ones the table had.
# Usage: bench/indexes.sh URL CSV ROUNDS   (URL: a database with the bench's events table)
set -eu
URL=$1
CSV=$2
ROUNDS=${3:-3}
BARGE=${BARGE:-target/release/barge}
T=$(mktemp -d)
sql() { psql -qAtX "$URL" -v ON_ERROR_STOP=1 -c "$1"; }
defs() { sql "SELECT string_agg(pg_get_indexdef(indexrelid), ';' ORDER BY pg_get_indexdef(indexrelid)) FROM pg_index WHERE indrelid = '$1'::regclass AND indisvalid"; }
sql "DROP TABLE IF EXISTS events4; CREATE TABLE events4 (LIKE events INCLUDING ALL);
     CREATE INDEX ON events4 (user_id); CREATE INDEX ON events4 (created_at); CREATE INDEX ON events4 (tag)"
printf 'table\tvariant\tseconds\tpeak_rss_kib\trows_checksum\tsame_indexes\n'
for r in $(seq "$ROUNDS"); do
  for t in events events4; do
    before=$(defs "$t")
    for v in default keep atomic_keep atomic; do
      sql "TRUNCATE $t; DROP TABLE IF EXISTS barge_checkpoint; CHECKPOINT"
      case $v in
        default) extra="" ;;
        keep) extra="--keep-indexes" ;;
        atomic_keep) extra="--atomic --keep-indexes" ;;
        atomic) extra="--atomic" ;;
      esac
      # shellcheck disable=SC2086
      /usr/bin/time -f '%e %M' -o "$T/t" "$BARGE" load "$CSV" --into "$URL" --table "$t" --quiet $extra
      sum=$(sql "SELECT count(*) || ':' || sum(hashtextextended(e::text, 0)) FROM $t e")
      same=no; [ "$(defs "$t")" = "$before" ] && same=yes
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$v" "$(cut -d' ' -f1 "$T/t")" "$(cut -d' ' -f2 "$T/t")" "$sum" "$same"
    done
  done
done
sql "DROP TABLE events4"
rm -rf "$T"
