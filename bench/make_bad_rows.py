#!/usr/bin/env python3
"""Makes the bad-row variants of the bench file for bench/rejects.sh: 0.1% of rows (every
1000th) get a bad amount ('12x', caught by the client), or half of them a bad amount and half
the previous row's id (a duplicate key the server refuses).
Usage: bench/make_bad_rows.py DIR   (reads DIR/events_1m.csv)"""
import csv
import sys

d = sys.argv[1]
rows = list(csv.reader(open(f"{d}/events_1m.csv", newline="", encoding="utf-8")))
header, rows = rows[0], rows[1:]


def write(name, mutate):
    with open(f"{d}/{name}", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for i, r in enumerate(rows):
            w.writerow(mutate(i, list(r)))


def client(i, r):
    if i % 1000 == 500:
        r[2] = "12x"
    return r


def mixed(i, r):
    if i % 1000 == 500:
        if (i // 1000) % 2 == 0:
            r[2] = "12x"
        else:
            r[0] = rows[i - 1][0]
    return r


write("events_1m_bad_client.csv", client)
write("events_1m_bad_mixed.csv", mixed)
