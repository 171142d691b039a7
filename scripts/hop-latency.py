#!/usr/bin/env python3
"""One-way latency of tcpsim's delay line (docs/real-kernel.md, "Network profiles").

Run beside `tcpsim real --profile lan` on a scenario that sleeps (the hosts'
namespaces exist while it runs):

    scripts/hop-latency.py PID_IN_NS_A PID_IN_NS_B [COUNT]

It runs a UDP receiver in B's namespace and a sender in A's (nsenter), and
reports the time from the sender's sendto() to the receiving kernel's receive
timestamp (SO_TIMESTAMPNS; both namespaces share CLOCK_REALTIME): the hop as
the delay line makes it, its configured delay included.
"""
import socket, struct, subprocess, sys, time

SO_TIMESTAMPNS = 35  # asm-generic/socket.h (SO_TIMESTAMPNS_OLD)
PORT = 9999


def receiver(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind(("0.0.0.0", PORT))
    s.settimeout(5)
    print("ready", flush=True)
    out = []
    try:
        while len(out) < count:
            data, anc, _, _ = s.recvmsg(64, 64)
            sent = struct.unpack("q", data[:8])[0]
            for lvl, typ, d in anc:
                if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", d[:16])
                    out.append(sec * 1_000_000_000 + nsec - sent)
    except socket.timeout:
        pass
    out.sort()
    if not out:
        print("nothing received")
        return
    pick = lambda q: out[min(len(out) - 1, int(q * len(out)))] / 1000
    print(f"{len(out)} packets: min {out[0]/1000:.0f} µs, median {pick(0.5):.0f} µs, "
          f"p90 {pick(0.9):.0f} µs, p99 {pick(0.99):.0f} µs, max {out[-1]/1000:.0f} µs")


def sender(dst, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(count):
        s.sendto(struct.pack("q", time.time_ns()).ljust(32, b"\0"), (dst, PORT))
        time.sleep(0.003)


def main():
    if sys.argv[1] == "--recv":
        return receiver(int(sys.argv[2]))
    if sys.argv[1] == "--send":
        return sender(sys.argv[2], int(sys.argv[3]))
    a, b = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    ip_b = subprocess.check_output(
        ["nsenter", "-t", b, "-n", "ip", "-4", "-o", "addr", "show", "tcpsim0"], text=True
    ).split()[3].split("/")[0]
    rx = subprocess.Popen(["nsenter", "-t", b, "-n", sys.executable, __file__, "--recv", str(count)],
                          stdout=subprocess.PIPE, text=True)
    rx.stdout.readline()
    subprocess.check_call(["nsenter", "-t", a, "-n", sys.executable, __file__, "--send", ip_b, str(count)])
    print(rx.stdout.read().strip())
    rx.wait()


if __name__ == "__main__":
    main()
