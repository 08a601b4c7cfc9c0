#!/usr/bin/env python3
"""The SQLAlchemy chunked-executemany pattern against MySQL/MariaDB, as ../shared/bench's
seed_sqlalchemy.py runs it against PostgreSQL: create_async_engine(pool_size=20,
max_overflow=10), a csv.DictReader generator, chunks of 25,000 rows via islice, per chunk
`async with engine.connect()` -> `await conn.execute(insert(events), chunk)` -> commit.

Values are converted to the Python types the MySQL table's columns take ('' -> None).
usage: seed_sqlalchemy_mysql.py --url mysql+asyncmy://root@127.0.0.1:PORT/bench --csv FILE
Needs: pip install "sqlalchemy[asyncio]" asyncmy
"""
import argparse
import asyncio
import csv
import json
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from itertools import islice

from sqlalchemy import (JSON, BigInteger, Column, Date, DateTime, Double, Enum, Integer,
                        MetaData, Numeric, String, Table, Text, insert)
from sqlalchemy.ext.asyncio import create_async_engine

metadata = MetaData()
events = Table(
    "events", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", Integer),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("score", Double),
    Column("active", Enum("true", "false"), nullable=False),
    Column("name", Text),
    Column("created_at", DateTime, nullable=False),
    Column("day", Date, nullable=False),
    Column("tag", String(36), nullable=False),
    Column("payload", JSON(none_as_null=True)),
)

TYPED = {"id": int, "user_id": int, "amount": Decimal, "score": float, "active": str,
         "name": str, "created_at": datetime.fromisoformat, "day": date.fromisoformat,
         "tag": str, "payload": json.loads}


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            yield {k: (None if v == "" else TYPED[k](v)) for k, v in row.items()}


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--chunk", type=int, default=25_000)
    a = p.parse_args()
    engine = create_async_engine(a.url, pool_size=20, max_overflow=10)
    t0 = time.perf_counter()
    n = 0
    it = rows(a.csv)
    try:
        while chunk := list(islice(it, a.chunk)):
            async with engine.connect() as conn:
                try:
                    await conn.execute(insert(events), chunk)
                    await conn.commit()
                except Exception:
                    await conn.rollback()
                    raise
            n += len(chunk)
    finally:
        await engine.dispose()
    dt = time.perf_counter() - t0
    print(f"rows={n} seconds={dt:.2f} rows_per_s={n / dt:.0f}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
