#!/usr/bin/env python3
"""The Python yardsticks for barge's Python package, one per process (bench/python.sh times
them): METHOD URL FILE. Prints the rows loaded and the seconds the load itself took (after any
in-memory preparation such as reading the file into Arrow).

  barge_dicts   the seed pattern's own generator (csv.DictReader dicts of strings, as
                seed_sqlalchemy.py reads the file) handed to barge.load, with null=""
  barge_path    barge.load(url, "events", FILE)
  barge_arrow   the file read into a pyarrow Table with its types (untimed), then barge.load
  barge_pandas  the same Table as a pandas DataFrame (untimed), then barge.load: its decimal,
                date and uuid-string columns are Python objects, which pyarrow converts
  barge_pandas_arrow
                the same as a pandas DataFrame backed by Arrow (types_mapper=pd.ArrowDtype)
  barge_arrow_text / adbc_arrow
                a pyarrow Table whose uuid and jsonb columns are strings, into events_text
                (the same table with tag and payload as text: ADBC sends Arrow strings as
                text in binary COPY, which uuid and jsonb refuse), by barge and by ADBC's
                adbc_ingest
"""
import csv
import sys
import time

import barge

TABLE_TYPES = None


def arrow_table(path, strings_for_uuid_json=False):
    import pyarrow as pa
    import pyarrow.csv as pc

    types = {"id": pa.int64(), "user_id": pa.int32(), "amount": pa.decimal128(12, 2),
             "score": pa.float64(), "active": pa.bool_(), "name": pa.string(),
             "created_at": pa.timestamp("us", tz="UTC"), "day": pa.date32(),
             "tag": pa.string(), "payload": pa.string()}
    return pc.read_csv(path, convert_options=pc.ConvertOptions(
        column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False))


def main():
    method, url, path = sys.argv[1:4]
    if method == "barge_dicts":
        t = time.perf_counter()
        with open(path, newline="", encoding="utf-8") as f:
            r = barge.load(url, "events", csv.DictReader(f), null="")
        rows = r.rows
    elif method == "barge_path":
        t = time.perf_counter()
        rows = barge.load(url, "events", path).rows
    elif method in ("barge_arrow", "barge_pandas", "barge_pandas_arrow", "barge_arrow_text"):
        data = arrow_table(path)
        if method == "barge_pandas":
            data = data.to_pandas()
        elif method == "barge_pandas_arrow":
            import pandas as pd

            data = data.to_pandas(types_mapper=pd.ArrowDtype)
        table = "events_text" if method == "barge_arrow_text" else "events"
        t = time.perf_counter()
        rows = barge.load(url, table, data).rows
    elif method == "adbc_arrow":
        import adbc_driver_postgresql.dbapi as adbc

        data = arrow_table(path)
        t = time.perf_counter()
        with adbc.connect(url) as conn:
            with conn.cursor() as cur:
                rows = cur.adbc_ingest("events_text", data, mode="append")
            conn.commit()
    else:
        sys.exit(f"unknown method {method}")
    print(rows, round(time.perf_counter() - t, 3))


if __name__ == "__main__":
    main()
