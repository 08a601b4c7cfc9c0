#!/bin/sh
# barge into SQLite vs the sqlite3 shell's .import, same file, same declared schema, fresh
# database file each run, alternating. Prints one TSV line per run: method, seconds, peak RSS
# (KiB), rows in the table.
# Usage: bench/sqlite_vs_import.sh FILE.csv ROUNDS [BARGE]
# INDEXES=1 gives the table three plain indexes (user_id, created_at, tag); METHODS picks the
# methods ("barge import" unless told; "barge_keep" is barge with --keep-indexes).
set -eu
FILE=$1
ROUNDS=${2:-3}
BARGE=${3:-target/release/barge}
DIR=$(mktemp -d)
DDL="CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER, amount NUMERIC NOT NULL,
  score REAL, active BOOLEAN NOT NULL, name TEXT, created_at TIMESTAMPTZ NOT NULL,
  day DATE NOT NULL, tag UUID NOT NULL, payload JSON);"
[ -n "${INDEXES:-}" ] && DDL="$DDL CREATE INDEX ev_user ON events (user_id);
  CREATE INDEX ev_created ON events (created_at); CREATE INDEX ev_tag ON events (tag);"
printf 'method\tseconds\tpeak_rss_kib\trows\n'
for r in $(seq "$ROUNDS"); do
  for m in ${METHODS:-barge import}; do
    rm -f "$DIR/b.db"*
    sqlite3 "$DIR/b.db" "$DDL"
    if [ "$m" = barge ]; then
      /usr/bin/time -f '%e %M' -o "$DIR/t" "$BARGE" load "$FILE" --into "sqlite://$DIR/b.db" --table events --quiet
    elif [ "$m" = barge_keep ]; then
      /usr/bin/time -f '%e %M' -o "$DIR/t" "$BARGE" load "$FILE" --into "sqlite://$DIR/b.db" --table events --quiet --keep-indexes
    else
      /usr/bin/time -f '%e %M' -o "$DIR/t" sqlite3 "$DIR/b.db" ".import --csv --skip 1 $FILE events"
    fi
    rows=$(sqlite3 "$DIR/b.db" 'SELECT count(*) FROM events')
    printf '%s\t%s\t%s\t%s\n' "$m" "$(cut -d' ' -f1 "$DIR/t")" "$(cut -d' ' -f2 "$DIR/t")" "$rows"
  done
done
rm -rf "$DIR"
