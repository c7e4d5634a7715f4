#!/usr/bin/env python3
"""Drivers of bench/ldap.sh (standard library only).

  ldap_load.py proxy LISTEN_PORT TARGET_PORT DELAY_MS
      a TCP proxy that holds every chunk the directory sends for DELAY_MS (a slow directory)
  ldap_load.py signin BASE USER PASSWORD N
      N sequential login-form sign-ins (GET /authorize, POST /login); prints latency stats
      of the POST
  ldap_load.py burst BASE PREFIX PASSWORD N
      N concurrent client_credentials calls, user PREFIX0..PREFIX{N-1} ({user} in PASSWORD
      is the user name), each from its own X-Forwarded-For address; prints the status
      counts and latency percentiles
"""
import asyncio
import base64
import http.client
import re
import statistics
import sys
import time
import urllib.parse

CLIENT = "webApplicationPlatform"
SECRET = "bench-secret-0123456789"
REDIRECT = "http://localhost:8080/callback"


async def pipe(reader, writer, delay):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def proxy(listen_port, target_port, delay_ms):
    delay = delay_ms / 1000.0

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pipe(client_reader, server_writer, 0),
            pipe(server_reader, client_writer, delay),
        )

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=4096)
    async with server:
        await server.serve_forever()


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))
    return values[k]


def signin(base, user, password, n):
    url = urllib.parse.urlparse(base)
    times = []
    statuses = {}
    for i in range(n):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT,
            "scope": "openid", "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        })
        conn.request("GET", f"{url.path}/authorize?{query}", headers={"X-Forwarded-For": f"10.1.{i // 250}.{i % 250}"})
        resp = conn.getresponse()
        html = resp.read().decode()
        cookies = "; ".join(c.split(";")[0] for c in resp.headers.get_all("Set-Cookie") or [])
        rid = re.search(r'name="rid" value="([^"]*)"', html).group(1)
        csrf = re.search(r'name="csrf" value="([^"]*)"', html).group(1)
        body = urllib.parse.urlencode({"rid": rid, "csrf": csrf, "username": user, "password": password})
        start = time.perf_counter()
        conn.request("POST", f"{url.path}/login", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies,
            "X-Forwarded-For": f"10.1.{i // 250}.{i % 250}",
        })
        resp = conn.getresponse()
        resp.read()
        times.append((time.perf_counter() - start) * 1000)
        statuses[resp.status] = statuses.get(resp.status, 0) + 1
        conn.close()
    print(f"  {n} sign-ins as {user}: statuses {statuses}; POST /login ms: "
          f"median {statistics.median(times):.1f}, p90 {pct(times, 90):.1f}, max {max(times):.1f}")


async def one_call(host, port, path, user, password, i):
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    body = f"grant_type=client_credentials&client_id={CLIENT}"
    request = (
        f"POST {path}/api/token HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Basic {basic}\r\nX-Auth-Secret: {SECRET}\r\n"
        f"X-Forwarded-For: 10.{i // 62500}.{(i // 250) % 250}.{i % 250}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
    )
    start = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request.encode())
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()
        writer.close()
        status = int(status_line.split()[1])
    except (OSError, IndexError, ValueError) as e:
        status = f"error {type(e).__name__}"
    return status, (time.perf_counter() - start) * 1000


async def burst(base, prefix, password, n):
    url = urllib.parse.urlparse(base)
    start = time.perf_counter()
    results = await asyncio.gather(*[
        one_call(url.hostname, url.port, url.path, f"{prefix}{i}", password.replace("{user}", f"{prefix}{i}"), i)
        for i in range(n)
    ])
    wall = time.perf_counter() - start
    statuses = {}
    by_status = {}
    for status, ms in results:
        statuses[status] = statuses.get(status, 0) + 1
        by_status.setdefault(status, []).append(ms)
    print(f"  {n} concurrent client_credentials, distinct directory users: wall {wall:.1f} s; statuses {statuses}")
    for status, times in sorted(by_status.items(), key=lambda kv: str(kv[0])):
        print(f"    {status}: ms median {statistics.median(times):.0f}, p90 {pct(times, 90):.0f}, "
              f"max {max(times):.0f}")


def main():
    cmd = sys.argv[1]
    if cmd == "proxy":
        asyncio.run(proxy(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
    elif cmd == "signin":
        signin(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "burst":
        asyncio.run(burst(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
