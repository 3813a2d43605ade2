#!/usr/bin/env python3
"""relay.py – a TCP relay in front of a collector that can hold its answers.

Forwards every connection on LISTEN_PORT to TARGET_PORT (both on
127.0.0.1), bytes unchanged (TLS stays end to end). SIGUSR1 holds what
flows from the target back to the client (the agent sends, the collector
handles, but no ACK, heartbeat or handshake reply comes back); SIGUSR2
forwards again, held bytes first. Each change is printed as "relay hold"
or "relay forward" once in effect, so a test can wait for it. With
PASS_FIRST, the first PASS_FIRST bytes of each connection's answers go
through even while holding (e2e_spool_replay_once: Redis' answer to the
collector's SCRIPT LOAD, then nothing). With RELAY_HOLD=1 in the
environment it holds from the start ("relay hold" is printed after
"relay listening"), so no answer can pass before a test's SIGUSR1 would
take effect. With RELAY_HOLD_AFTER=TEXT a connection holds its answers
from the moment its client has sent TEXT ("relay hold" is printed then),
so the answers to everything sent before it pass, however many commands
that was (e2e_spool_replay_once: the replay's command carries the
summary); SIGUSR2 forwards them and disarms TEXT. A hold forwards first what the target has sent already (a
test that saw Redis carry out a command knows its answer went through).
Used by e2e_failover.sh and the collector spool's tests; it is test
input, not part of minisoc.

usage: relay.py LISTEN_PORT TARGET_PORT [PASS_FIRST]
"""
import os
import selectors
import signal
import socket
import sys

hold = False
want_hold = False
release_after = False


def on_signal(signum, frame):
    global want_hold, release_after
    want_hold = signum == signal.SIGUSR1
    if signum == signal.SIGUSR2:
        release_after = True


class Pair:
    """One client connection and its connection to the target."""

    def __init__(self, client, target):
        self.client = client
        self.target = target
        self.held = bytearray()     # target -> client, while holding
        self.passed = 0             # target -> client bytes forwarded so far
        self.after = False          # the client sent RELAY_HOLD_AFTER's text
        self.tail = b""             # its last bytes, for a text split in two


def main():
    global hold, want_hold, release_after
    listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
    pass_first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    signal.signal(signal.SIGUSR1, on_signal)
    signal.signal(signal.SIGUSR2, on_signal)
    sel = selectors.DefaultSelector()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", listen_port))
    lsock.listen(16)
    sel.register(lsock, selectors.EVENT_READ, None)
    if os.environ.get("RELAY_HOLD") == "1":
        want_hold = True        # in effect before the first accept
    hold_after = os.environ.get("RELAY_HOLD_AFTER", "").encode() or None
    print("relay listening", flush=True)
    pairs = []

    def close(pair):
        for s in (pair.client, pair.target):
            try:
                sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        pairs.remove(pair)

    def serve(timeout):
        """One round of select: accepts, forwards or holds. The events seen."""
        events = sel.select(timeout=timeout)
        for key, _ in events:
            if key.data is None:
                client, _ = lsock.accept()
                target = socket.socket()
                try:
                    target.connect(("127.0.0.1", target_port))
                except OSError:
                    client.close()      # nobody behind: the client sees a close
                    target.close()
                    continue
                pair = Pair(client, target)
                pairs.append(pair)
                sel.register(client, selectors.EVENT_READ, (pair, True))
                sel.register(target, selectors.EVENT_READ, (pair, False))
                continue
            pair, from_client = key.data
            if pair not in pairs:
                continue                # closed earlier in this round
            src = pair.client if from_client else pair.target
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                close(pair)
                continue
            try:
                if from_client:
                    pair.target.sendall(data)
                    if hold_after is not None and not pair.after:
                        seen = pair.tail + data
                        if hold_after in seen:
                            pair.after = True
                            print("relay hold", flush=True)
                        pair.tail = seen[-(len(hold_after) - 1):] if len(hold_after) > 1 else b""
                elif hold or pair.after:
                    n = max(0, min(len(data), pass_first - pair.passed)) if not pair.held else 0
                    if n:
                        pair.client.sendall(data[:n])
                        pair.passed += n
                    pair.held += data[n:]
                else:
                    pair.client.sendall(data)
                    pair.passed += len(data)
            except OSError:
                close(pair)
        return len(events)

    def release():
        """What every connection holds goes on to its client."""
        for p in list(pairs):
            if p.held and not p.after:
                try:
                    p.client.sendall(bytes(p.held))
                except OSError:
                    close(p)
                    continue
                p.held.clear()

    while True:
        if release_after:
            # SIGUSR2: what connections held after the text goes on, and the
            # text holds nothing more (a client that connects again resends it).
            release_after = False
            hold_after = None
            for p in pairs:
                p.after = False
            if not hold:
                release()
                print("relay forward", flush=True)
        if want_hold != hold:
            if want_hold:
                # Answers already sent to the relay pass before the hold: a
                # test that saw Redis carry out a command knows its answer
                # is through.
                for _ in range(100):
                    if not serve(0):
                        break
            hold = want_hold
            if not hold:
                release()
            print("relay hold" if hold else "relay forward", flush=True)
        serve(0.05)


if __name__ == "__main__":
    main()
