#!/bin/sh
# MySQL/MariaDB yardsticks on the 1M-row bench file: `mariadb-import --local` (one stream of
# LOAD DATA LOCAL INFILE of the CSV), the SQLAlchemy chunked-executemany pattern with asyncmy
# (bench/seed_sqlalchemy_mysql.py), and barge. The server is a throwaway MariaDB started here
# (mariadb-install-db into DIR/mysql, port 33306, default settings but the buffer pool).
# The bench file's timestamps carry UTC offsets, which MySQL's datetime cannot hold: they are
# cut off first (DIR/events_1m_my.csv). Each run starts from an empty table; runs alternate.
# Prints TSV: method, round, seconds, peak RSS (KiB), rows in the table, checksum of the table.
# mariadb-import is not strict (LOCAL turns errors into warnings): it loads the CSV's empty
# fields as 0 and '' where barge and SQLAlchemy store NULL, so its checksum differs.
# Usage: bench/mysql.sh DIR ROUNDS [SA_ROUNDS]   (DIR holds events_1m.csv; PYTHON is a Python
# with sqlalchemy[asyncio] and asyncmy; KEYS=1 gives the table three secondary KEYs besides its
# primary key; METHODS picks the methods, "mariadb_import barge" unless told)
set -eu
DIR=$1
ROUNDS=${2:-3}
SA_ROUNDS=${3:-1}
BARGE=${BARGE:-target/release/barge}
PYTHON=${PYTHON:-$DIR/venv/bin/python}
HERE=$(cd "$(dirname "$0")" && pwd)
D=$DIR/mysql
PORT=33306
if ! mariadb --no-defaults -h127.0.0.1 -P$PORT -uroot -e 'select 1' >/dev/null 2>&1; then
  rm -rf "$D"; mkdir -p "$D"
  mariadb-install-db --no-defaults --datadir="$D/data" --user=root \
    --auth-root-authentication-method=normal --skip-test-db >/dev/null
  mariadbd --no-defaults --datadir="$D/data" --user=root --port=$PORT --bind-address=127.0.0.1 \
    --socket="$D/sock" --pid-file="$D/pid" --log-error="$D/err.log" --skip-name-resolve \
    --local-infile=1 --innodb-buffer-pool-size=512M --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_general_ci >/dev/null 2>&1 &
  for _ in $(seq 100); do
    mariadb --no-defaults -h127.0.0.1 -P$PORT -uroot -e 'select 1' >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
M="mariadb --no-defaults -h127.0.0.1 -P$PORT -uroot"
CSV=$DIR/events_1m_my.csv
[ -s "$CSV" ] || sed -E 's/([0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3})(Z|[+-][0-9]{2}:[0-9]{2})/\1/' "$DIR/events_1m.csv" > "$CSV"
mkdir -p "$DIR/myimport"
ln -sf "$CSV" "$DIR/myimport/events.csv"
$M -e "CREATE DATABASE IF NOT EXISTS bench"
T=$(mktemp -d)
printf 'method\tround\tseconds\tpeak_rss_kib\trows\tchecksum\n'
run() {
  m=$1; r=$2
  $M bench -e "DROP TABLE IF EXISTS events, barge_checkpoint; CREATE TABLE events (id bigint PRIMARY KEY, \
    user_id int, amount decimal(12,2) NOT NULL, score double, active enum('true','false') NOT NULL, \
    name text, created_at datetime(3) NOT NULL, day date NOT NULL, tag char(36) NOT NULL, payload json${KEYS:+, KEY ev_user (user_id), KEY ev_created (created_at), KEY ev_tag (tag)})"
  case $m in
    mariadb_import) cmd="mariadb-import --no-defaults --local -h127.0.0.1 -P$PORT -uroot \
      --fields-terminated-by=, --fields-optionally-enclosed-by=\" --fields-escaped-by= --ignore-lines=1 bench $DIR/myimport/events.csv" ;;
    sa_asyncmy) cmd="$PYTHON $HERE/seed_sqlalchemy_mysql.py --url mysql+asyncmy://root@127.0.0.1:$PORT/bench --csv $CSV" ;;
    barge) cmd="$BARGE load $CSV --into mysql://root@127.0.0.1:$PORT/bench --table events --quiet ${BARGE_ARGS:-}" ;;
  esac
  # shellcheck disable=SC2086
  /usr/bin/time -f '%e %M' -o "$T/t" $cmd >/dev/null 2>"$T/err" || { cat "$T/err" >&2; }
  rows=$($M -N bench -e 'SELECT count(*) FROM events')
  sum=$($M -N bench -e "SELECT sum(crc32(concat_ws('|', id, user_id, amount, score, active, name, created_at, day, tag, payload))) FROM events")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$r" "$(tail -1 "$T/t" | cut -d' ' -f1)" "$(tail -1 "$T/t" | cut -d' ' -f2)" "$rows" "$sum"
}
for r in $(seq "$ROUNDS"); do
  for m in ${METHODS:-mariadb_import barge}; do run $m $r; done
done
for r in $(seq "$SA_ROUNDS"); do run sa_asyncmy $r; done
