# Clients that ask for /metrics and never read the answer, each with a tiny
# receive window so that what it is sent stays queued in the exporter.
# argv: port, clients, ready file (written once all have asked), seconds
# they then stay connected.
import socket, sys, time

port, n, ready, seconds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
socks = []
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
open(ready, "w").write("ready\n")
time.sleep(seconds)
