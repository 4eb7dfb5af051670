"""The client matrix's psycopg 3 program (Debian python3-psycopg), run with /usr/bin/python3.

usage: psycopg_checks.py RUNS_FILE
RUNS_FILE: one run per line, tab-separated: name host port database user password caPath table readOnly
Prints one JSON object: {"run name": {"check": "outcome", ...}, ...}; an outcome is what a user
observes (values, or the SQLSTATE of an error), comparable between runs.
"""
import hashlib
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg

TEN_MB = 10 * 1024 * 1024


def connect(r, **extra):
    return psycopg.connect(host=r["host"], port=r["port"], dbname=r["database"], user=r["user"], password=r["password"],
                           sslmode="verify-full", sslrootcert=r["ca"], connect_timeout=20, **extra)


def state(e):
    return e.sqlstate if getattr(e, "sqlstate", None) else f"error {type(e).__name__}: {e}"


def md5(b):
    return hashlib.md5(b).hexdigest()


def login(r):
    with connect(r) as c:
        return "t" if c.execute("select current_user is not null").fetchone()[0] else "f"


def parameters(r):
    with connect(r) as c:
        a, b, n = c.execute("select %s::int4 + 1, %s::text, length(%s::bytea)", (42, "café ✓", b"\x00\x01\xff")).fetchone()
        return f"{a}|{b}|{n}"


def transactions(r):
    t = r["table"]
    with connect(r) as c:
        try:
            c.execute(f"insert into {t} (id, v) values (1, 'rolled back')")
            c.rollback()
            after_rollback = c.execute(f"select count(*) from {t} where id = 1").fetchone()[0]
            c.execute(f"insert into {t} (id, v) values (1, 'committed')")
            c.commit()
            return f"rollback {after_rollback}, commit {c.execute(f'select count(*) from {t} where id = 1').fetchone()[0]}"
        except psycopg.Error as e:
            c.rollback()
            return state(e)


def error_then_reuse(r):
    seen = []
    with connect(r, autocommit=True) as c:
        try:
            c.execute("select 1/0")
        except psycopg.Error as e:
            seen.append(state(e))
        c.autocommit = False
        for q in ("select 1/0", "select 1"):
            try:
                c.execute(q)
            except psycopg.Error as e:
                seen.append(state(e))
        c.rollback()
        seen.append(str(c.execute("select 3").fetchone()[0]))
    return ",".join(seen)


def large_value(r):
    with connect(r) as c:
        n, h = c.execute("select length(t), md5(t) from (select %s::text as t) s", ("x" * TEN_MB,)).fetchone()
        back = c.execute("select repeat('y', 10485760)").fetchone()[0]
        return f"{n}|{h}|{len(back)}|{md5(back.encode())}"


def rows_100k(r):
    with connect(r) as c:
        cur = c.cursor(name="rows")  # a server-side cursor, fetched 1,000 rows at a time
        cur.itersize = 1000
        cur.execute("select g, md5(g::text) from generate_series(1, 100000) g")
        n = s = 0
        for g, _ in cur:
            n += 1
            s += g
        return f"{n}|{s}"


def copy_out(r):
    with connect(r) as c:
        data = bytearray()
        with c.cursor().copy("copy (select g, 'é' || g from generate_series(1, 1000) g) to stdout") as cp:
            for chunk in cp:
                data += chunk
        return f"{data.decode().count(chr(10))}|{md5(bytes(data))}"


def copy_in(r):
    t = r["table"]
    with connect(r) as c:
        try:
            with c.cursor() as cur:
                with cur.copy(f"copy {t} (id, v) from stdin") as cp:
                    for i in range(1001, 2001):
                        cp.write_row((i, f"copied é {i}"))
                n = cur.rowcount
            c.commit()
            return f"{n}|{c.execute(f'select count(*) from {t} where v like %s', ('copied é %',)).fetchone()[0]}"
        except psycopg.Error as e:
            return state(e)


def listen_notify(r):
    channel = "ch_" + r["table"]
    with connect(r, autocommit=True) as listener, connect(r, autocommit=True) as sender:
        listener.execute(f"listen {channel}")
        sender.execute("select pg_notify(%s, %s)", (channel, "payload é"))
        for n in listener.notifies():  # blocks until one arrives
            return n.payload if n.channel == channel else f"wrong channel {n.channel}"


def prepared_reuse(r):
    with connect(r) as c:
        total = sum(c.execute("select %s::int * 2", (i,), prepare=True).fetchone()[0] for i in range(1, 11))
        return str(total)


def cancel(r):
    with connect(r, autocommit=True) as c:
        seen = []
        timer = threading.Timer(1, c.cancel)
        timer.start()
        try:
            c.execute("select pg_sleep(300)")
            seen.append("not cancelled")
        except psycopg.Error as e:
            seen.append(f"cancel {state(e)}")
        timer.join()
        seen.append(f"then {c.execute('select 1').fetchone()[0]}")
        return ", ".join(seen)


def pipelining(r):
    t = r["table"]
    with connect(r, autocommit=True) as c:
        try:
            with c.pipeline():
                cur = c.cursor()
                for i in range(10001, 20001):
                    cur.execute(f"insert into {t} (id, v) values (%s, %s)", (i, "batched é"))
        except psycopg.Error as e:
            return state(e)
        return f"batched rows {c.execute(f'select count(*) from {t} where id between 10001 and 20000').fetchone()[0]}"


def pipelining_after_set_config(r):
    # Issue 15: a statement with non-ASCII text behind one that mentions set_config, in one pipeline.
    with connect(r, autocommit=True) as c:
        try:
            with c.pipeline():
                a = c.execute("select set_config('app.tenant', 'acme', false)")
                b = c.execute("select 'café'")
            return f"{a.fetchone()[0]}|{b.fetchone()[0]}"
        except psycopg.Error as e:
            return state(e)


def fifty_connections(r):
    barrier = threading.Barrier(50)

    def one(_):
        barrier.wait()
        with connect(r) as c:
            return c.execute("select 1").fetchone()[0]

    ok, errors = 0, set()
    with ThreadPoolExecutor(50) as pool:
        for f in [pool.submit(one, i) for i in range(50)]:
            try:
                ok += f.result() == 1
            except Exception as e:  # noqa: BLE001 - reported as the outcome
                errors.add(str(e).strip())
    return f"{ok} ok" + (f" {sorted(errors)}" if errors else "")


def channel_binding(r):
    with connect(r, channel_binding="require") as c:
        return "bound, " + str(c.execute("select 1").fetchone()[0])


CHECKS = {
    "login": login,
    "parameters": parameters,
    "transactions": transactions,
    "error then reuse": error_then_reuse,
    "large value": large_value,
    "100k rows": rows_100k,
    "copy out": copy_out,
    "copy in": copy_in,
    "listen/notify": listen_notify,
    "prepared reuse": prepared_reuse,
    "cancel": cancel,
    "pipelining": pipelining,
    "pipelining after set_config": pipelining_after_set_config,
    "50 connections": fifty_connections,
    "channel binding": channel_binding,
}


def main():
    runs = []
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.strip():
                name, host, port, database, user, password, ca, table, ro = line.split("\t")
                runs.append(dict(name=name, host=host, port=int(port), database=database, user=user, password=password, ca=ca, table=table, ro=ro == "true"))
    only = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else None
    out = {}
    for r in runs:
        out[r["name"]] = {}
        for name, check in CHECKS.items():
            if only and name not in only:
                continue
            try:
                out[r["name"]][name] = check(r)
            except Exception as e:  # noqa: BLE001 - reported as the outcome
                out[r["name"]][name] = f"error {state(e)}: {e}"
    print(json.dumps(out, ensure_ascii=False))


main()
