#!/bin/sh
# Peak memory by row shape (issue 14, goal 4: under 64 MiB for every shape, with and without
# --rejects and --create; one huge field about twice its size). Makes the files in DIR once:
#   wide.csv    200 integer columns x 200,000 rows
#   big.csv     200 rows, each a ~1 MiB text field
#   quotes.csv  200 rows, each a quoted ~1.1 MiB field dense with doubled quotes
#   huge.csv    one row with a 50,000,000-byte field, then one small row
# and loads each into a new table (PostgreSQL, or MySQL/MariaDB for a mysql:// URL, at URL),
# from scratch each time. Prints TSV: shape, variant, seconds, peak RSS (KiB), rows in the table.
# Usage: bench/memory.sh URL DIR [ROUNDS]   (MySQL: the mysql client, as mysql://user@host:port/db)
set -eu
URL=$1
DIR=$2
ROUNDS=${3:-1}
BARGE=${BARGE:-target/release/barge}
T=$(mktemp -d)
mkdir -p "$DIR"
[ -f "$DIR/wide.csv" ] || python3 - "$DIR/wide.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write(",".join(f"c{i}" for i in range(200)) + "\n")
    for r in range(200_000):
        f.write(",".join(str((r * 7919 + i * 104729) % 1_000_000) for i in range(200)) + "\n")
PY
[ -f "$DIR/big.csv" ] || python3 - "$DIR/big.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,body\n")
    for r in range(200):
        f.write(f"{r},{chr(97 + r % 26) * (1 << 20)}\n")
PY
[ -f "$DIR/quotes.csv" ] || python3 - "$DIR/quotes.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,body\n")
    for r in range(200):
        f.write(f'{r},"{"ab""c," * 174762}"\n')
PY
[ -f "$DIR/huge.csv" ] || python3 - "$DIR/huge.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,body\n")
    f.write("1," + "x" * 50_000_000 + "\n2,small\n")
PY
# SQL on the target, whichever it is.
sql() {
  case $URL in
    mysql://*)
      rest=${URL#mysql://}; user=${rest%%@*}; hostport=${rest#*@}; db=${hostport#*/}
      hostport=${hostport%%/*}; host=${hostport%%:*}; port=${hostport#*:}
      mysql -N -u"$user" -h"$host" -P"$port" "$db" -e "$1" ;;
    *) psql -qXAt "$URL" -c "$1" ;;
  esac
}
printf 'shape\tvariant\tseconds\tpeak_rss_kib\trows\n'
for r in $(seq "$ROUNDS"); do
  for shape in wide big quotes huge; do
    for v in plain rejects create; do
      sql "DROP TABLE IF EXISTS mem_$shape" 2>/dev/null
      sql "DROP TABLE IF EXISTS barge_checkpoint" 2>/dev/null
      if [ "$v" != create ]; then
        if [ "$shape" = wide ]; then
          cols=$(head -1 "$DIR/wide.csv" | sed 's/,/ bigint,/g; s/$/ bigint/')
          sql "CREATE TABLE mem_wide ($cols)"
        else
          sql "CREATE TABLE mem_$shape (id bigint, body longtext)" 2>/dev/null ||
            sql "CREATE TABLE mem_$shape (id bigint, body text)"
        fi
      fi
      case $v in
        plain) extra="" ;;
        rejects) extra="--rejects $T/rej.csv" ;;
        create) extra="--create" ;;
      esac
      # shellcheck disable=SC2086
      /usr/bin/time -f '%e %M' -o "$T/t" "$BARGE" load "$DIR/$shape.csv" --into "$URL" \
        --table "mem_$shape" --quiet $extra || true
      rows=$(sql "SELECT count(*) FROM mem_$shape" 2>/dev/null || echo -)
      rm -f "$T"/rej.csv*
      printf '%s\t%s\t%s\t%s\t%s\n' "$shape" "$v" "$(tail -1 "$T/t" | cut -d' ' -f1)" \
        "$(tail -1 "$T/t" | cut -d' ' -f2)" "$rows"
    done
  done
  # barge schema reads a sample: bounded by bytes too.
  /usr/bin/time -f '%e %M' -o "$T/t" "$BARGE" schema "$DIR/big.csv" >/dev/null || true
  printf '%s\t%s\t%s\t%s\t%s\n' big schema "$(tail -1 "$T/t" | cut -d' ' -f1)" \
    "$(tail -1 "$T/t" | cut -d' ' -f2)" -
done
rm -rf "$T"
