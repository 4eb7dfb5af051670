"""The client matrix's asyncpg program (Debian python3-asyncpg), run with /usr/bin/python3.

usage: asyncpg_checks.py RUNS_FILE
RUNS_FILE: one run per line, tab-separated: name host port database user password caPath table readOnly
Prints one JSON object: {"run name": {"check": "outcome", ...}, ...}; an outcome is what a user
observes (values, or the SQLSTATE of an error), comparable between runs.
"""
import asyncio
import hashlib
import json
import ssl
import sys

import asyncpg

TEN_MB = 10 * 1024 * 1024


async def connect(r):
    # verify-full: the CA, and the host name (here an IP address SAN) checked by Python's ssl.
    ctx = ssl.create_default_context(cafile=r["ca"])
    return await asyncpg.connect(host=r["host"], port=r["port"], user=r["user"], password=r["password"], database=r["database"], ssl=ctx, timeout=20)


def state(e):
    return e.sqlstate if getattr(e, "sqlstate", None) else f"error {type(e).__name__}: {e}"


def md5(b):
    return hashlib.md5(b).hexdigest()


async def login(r):
    c = await connect(r)
    try:
        return "t" if await c.fetchval("select current_user is not null") else "f"
    finally:
        await c.close()


async def parameters(r):
    c = await connect(r)
    try:
        a, b, n = await c.fetchrow("select $1::int4 + 1, $2::text, length($3::bytea)", 42, "café ✓", b"\x00\x01\xff")
        return f"{a}|{b}|{n}"
    finally:
        await c.close()


async def transactions(r):
    t = r["table"]
    c = await connect(r)
    try:
        tr = c.transaction()
        await tr.start()
        try:
            await c.execute(f"insert into {t} (id, v) values (1, 'rolled back')")
        except asyncpg.PostgresError as e:
            await tr.rollback()
            return state(e)
        await tr.rollback()
        after_rollback = await c.fetchval(f"select count(*) from {t} where id = 1")
        async with c.transaction():
            await c.execute(f"insert into {t} (id, v) values (1, 'committed')")
        return f"rollback {after_rollback}, commit {await c.fetchval(f'select count(*) from {t} where id = 1')}"
    finally:
        await c.close()


async def error_then_reuse(r):
    seen = []
    c = await connect(r)
    try:
        try:
            await c.fetchval("select 1/0")
        except asyncpg.PostgresError as e:
            seen.append(state(e))
        tr = c.transaction()
        await tr.start()
        for q in ("select 1/0", "select 1"):
            try:
                await c.fetchval(q)
            except asyncpg.PostgresError as e:
                seen.append(state(e))
        await tr.rollback()
        seen.append(str(await c.fetchval("select 3")))
        return ",".join(seen)
    finally:
        await c.close()


async def large_value(r):
    c = await connect(r)
    try:
        n, h = await c.fetchrow("select length(t), md5(t) from (select $1::text as t) s", "x" * TEN_MB)
        back = await c.fetchval("select repeat('y', 10485760)")
        return f"{n}|{h}|{len(back)}|{md5(back.encode())}"
    finally:
        await c.close()


async def rows_100k(r):
    c = await connect(r)
    try:
        n = s = 0
        async with c.transaction():  # a cursor, prefetching 1,000 rows at a time
            async for row in c.cursor("select g, md5(g::text) from generate_series(1, 100000) g", prefetch=1000):
                n += 1
                s += row[0]
        return f"{n}|{s}"
    finally:
        await c.close()


async def copy_out(r):
    c = await connect(r)
    try:
        data = bytearray()

        async def sink(chunk):
            data.extend(chunk)

        await c.copy_from_query("select g, 'é' || g from generate_series(1, 1000) g", output=sink)
        return f"{data.decode().count(chr(10))}|{md5(bytes(data))}"
    finally:
        await c.close()


async def copy_in(r):
    t = r["table"]
    c = await connect(r)
    try:
        try:
            status = await c.copy_records_to_table(t, records=[(i, f"copied é {i}") for i in range(1001, 2001)], columns=["id", "v"])
        except asyncpg.PostgresError as e:
            return state(e)
        return f"{status.split()[-1]}|{await c.fetchval(f'select count(*) from {t} where v like $1', 'copied é %')}"
    finally:
        await c.close()


async def listen_notify(r):
    channel = "ch_" + r["table"]
    listener, sender = await connect(r), await connect(r)
    try:
        got = asyncio.get_running_loop().create_future()
        await listener.add_listener(channel, lambda _c, _pid, ch, payload: got.done() or got.set_result((ch, payload)))
        await sender.fetchval("select pg_notify($1, $2)", channel, "payload é")
        ch, payload = await got  # waits until it arrives
        return payload if ch == channel else f"wrong channel {ch}"
    finally:
        await listener.close()
        await sender.close()


async def prepared_reuse(r):
    c = await connect(r)
    try:
        stmt = await c.prepare("select $1::int * 2")  # one named server-side statement, run 10 times
        return str(sum([await stmt.fetchval(i) for i in range(1, 11)]))
    finally:
        await c.close()


async def cancel(r):
    c = await connect(r)
    try:
        try:
            # On timeout asyncpg sends a CancelRequest and waits for the statement to end.
            await c.fetchval("select pg_sleep(300)", timeout=1)
            first = "not cancelled"
        except asyncio.TimeoutError:
            first = "timeout"
        return f"{first}, then {await c.fetchval('select 1')}"
    finally:
        await c.close()


async def pipelining(r):
    t = r["table"]
    c = await connect(r)
    try:
        try:
            # executemany sends every Bind/Execute before one Sync: a pipeline.
            await c.executemany(f"insert into {t} (id, v) values ($1, $2)", [(i, "batched é") for i in range(10001, 20001)])
        except asyncpg.PostgresError as e:
            return state(e)
        return f"batched rows {await c.fetchval(f'select count(*) from {t} where id between 10001 and 20000')}"
    finally:
        await c.close()


async def fifty_connections(r):
    async def one():
        c = await connect(r)
        try:
            return await c.fetchval("select 1")
        finally:
            await c.close()

    got = await asyncio.gather(*[one() for _ in range(50)], return_exceptions=True)
    errors = sorted({str(g) for g in got if isinstance(g, BaseException)})
    return f"{sum(1 for g in got if g == 1)} ok" + (f" {errors}" if errors else "")


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
    "50 connections": fifty_connections,
}


async def main():
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
                out[r["name"]][name] = await check(r)
            except Exception as e:  # noqa: BLE001 - reported as the outcome
                out[r["name"]][name] = f"error {state(e)}: {e}"
    print(json.dumps(out, ensure_ascii=False))


asyncio.run(main())
