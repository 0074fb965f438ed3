#!/usr/bin/env python3
"""Slow clients for bench/soak.sh: hold N connections to a server on
127.0.0.1 and trickle bytes on each, reconnecting whenever the server closes
one, for a bounded time. Standard library only.

    slow_clients.py --port 5099 --clients 300 --seconds 60 [--mode head|body|mixed] [--ramp 5]

head:  a request head sent one byte per --interval seconds (slowloris); the
       server's header timeout answers 408 and closes, and the client
       reconnects.
body:  a complete head for POST /form with Content-Length 1 MiB, then the
       body one byte per interval.
mixed: even-numbered clients head, odd-numbered body.

Prints one summary line (SLOW key=value ...) at the end. Refuses any host but
127.0.0.1: this is a load tool for the machine it runs on.
"""

import argparse
import selectors
import socket
import time

HEAD = b"GET /user/slowpoke HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-client\r\n" + \
    b"".join(b"X-Pad-%d: %s\r\n" % (i, b"z" * 40) for i in range(40)) + b"\r\n"
BODY_LEN = 1 << 20
BODY_HEAD = (b"POST /form HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             b"Content-Type: application/x-www-form-urlencoded\r\n"
             b"Content-Length: %d\r\n\r\n" % BODY_LEN)


class Client:
    def __init__(self, idx, mode):
        self.idx = idx
        self.mode = mode
        self.sock = None
        self.pos = 0
        self.payload = b""
        self.next_send = 0.0
        self.received = b""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--clients", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--mode", choices=["head", "body", "mixed"], default="head")
    ap.add_argument("--ramp", type=float, default=5.0)
    args = ap.parse_args()

    sel = selectors.DefaultSelector()
    stats = dict(connects=0, connect_errors=0, server_closes=0, resets=0,
                 bytes_sent=0, answers_408=0, answers_other=0, held_min=None,
                 held_max=0)
    clients = []
    for i in range(args.clients):
        mode = args.mode if args.mode != "mixed" else ("head" if i % 2 == 0 else "body")
        clients.append(Client(i, mode))

    def connect(c, now):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect_ex(("127.0.0.1", args.port))
        except OSError:
            stats["connect_errors"] += 1
            s.close()
            c.sock = None
            c.next_send = now + args.interval
            return
        c.sock = s
        c.pos = 0
        c.payload = HEAD if c.mode == "head" else BODY_HEAD + b"n" * BODY_LEN
        c.received = b""
        # spread the clients over one interval so the bytes do not arrive in bursts
        c.next_send = now + (c.idx % 100) * args.interval / 100
        stats["connects"] += 1
        sel.register(s, selectors.EVENT_READ, c)

    def drop(c, why):
        if c.received.startswith(b"HTTP/1.1 408"):
            stats["answers_408"] += 1
        elif c.received:
            stats["answers_other"] += 1
        stats[why] += 1
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        c.sock = None
        c.next_send = 0.0  # reconnect at once

    start = time.monotonic()
    end = start + args.seconds
    # Clients first connect spread over --ramp seconds, so the server's
    # timeouts do not close them all at the same moment ever after.
    for c in clients:
        c.next_send = start + args.ramp * c.idx / max(1, args.clients)

    while True:
        now = time.monotonic()
        if now >= end:
            break
        for key, _ in sel.select(timeout=0.05):
            c = key.data
            try:
                data = c.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                drop(c, "resets")
                continue
            except BlockingIOError:
                continue
            except OSError:
                drop(c, "resets")
                continue
            if not data:
                drop(c, "server_closes")
            else:
                c.received += data[:64]
        now = time.monotonic()
        for c in clients:
            if c.sock is None:
                if now >= c.next_send:
                    connect(c, now)
                continue
            if now < c.next_send:
                continue
            if c.mode == "body" and c.pos == 0:
                # body mode sends its whole head at once, then trickles the body
                chunk = BODY_HEAD
            else:
                chunk = c.payload[c.pos:c.pos + 1]
            if not chunk:
                continue
            try:
                sent = c.sock.send(chunk)
            except BlockingIOError:
                sent = 0
            except OSError:
                drop(c, "resets")
                continue
            c.pos += sent
            stats["bytes_sent"] += sent
            c.next_send = now + args.interval
        # Counted after the reconnects: a client the server closed is
        # connected again within the same pass.
        held = sum(1 for c in clients if c.sock is not None)
        stats["held_max"] = max(stats["held_max"], held)
        if now - start > args.ramp + 1:
            stats["held_min"] = held if stats["held_min"] is None else min(stats["held_min"], held)

    for c in clients:
        if c.sock is not None:
            c.sock.close()
    held_min = stats["held_min"] if stats["held_min"] is not None else 0
    stats["held_min"] = held_min
    print("SLOW " + " ".join(f"{k}={v}" for k, v in stats.items()), flush=True)


if __name__ == "__main__":
    main()
