#!/bin/sh
# barge into SQLite vs the sqlite3 shell's .import, same file, same declared schema, fresh
# database file each run, alternating. Prints one TSV line per run: method, seconds, peak RSS
# (KiB), rows in the table.
# Usage: bench/sqlite_vs_import.sh FILE.csv ROUNDS [BARGE]
# INDEXES=1 gives the table three plain indexes (user_id, created_at, tag); METHODS picks the
# methods ("barge import" unless told; "barge_keep" is barge with --keep-indexes; "base" and
# "base_keep" the same with the binary in $BASE, an earlier build to compare with). EXTRA
# adds arguments to every barge run (e.g. "--rejects /tmp/r.csv").
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
    case $m in
      base*) bin=${BASE:?BASE names the earlier build} ;;
      *) bin=$BARGE ;;
    esac
    case $m in
      *_keep) keep=--keep-indexes ;;
      *) keep= ;;
    esac
    if [ "$m" != import ]; then
      # shellcheck disable=SC2086 # EXTRA is split on purpose
      /usr/bin/time -f '%e %M' -o "$DIR/t" "$bin" load "$FILE" --into "sqlite://$DIR/b.db" --table events --quiet $keep ${EXTRA:-} || true
    else
      /usr/bin/time -f '%e %M' -o "$DIR/t" sqlite3 "$DIR/b.db" ".import --csv --skip 1 $FILE events"
    fi
    rows=$(sqlite3 "$DIR/b.db" 'SELECT count(*) FROM events')
    t=$(tail -n 1 "$DIR/t")  # after "Command exited with non-zero status 3"
    printf '%s\t%s\t%s\t%s\n' "$m" "${t% *}" "${t#* }" "$rows"
  done
done
rm -rf "$DIR"
