#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A TCP server for the live tier: answers every connection with one line,
its NAME, so that a client can tell which socket the kernel chose.

  live-server.py NAME ADDR PORT [CTL NETNS LINK LABEL]
      listens on ADDR:PORT; with CTL..., registers the listening socket for
      steering first (CTL register NETNS LINK LABEL --fd=N)
  live-server.py NAME
      serves the one listening socket systemd passed (socket activation)
"""
import os
import socket
import subprocess
import sys

name = sys.argv[1]
if len(sys.argv) > 2:
    server = socket.create_server((sys.argv[2], int(sys.argv[3])))
    if len(sys.argv) > 4:
        ctl, netns, link, label = sys.argv[4:8]
        fd = server.fileno()
        subprocess.run([ctl, "register", netns, link, label, f"--fd={fd}"], pass_fds=[fd], check=True)
else:
    if os.environ.get("LISTEN_PID") != str(os.getpid()) or os.environ.get("LISTEN_FDS") != "1":
        sys.exit("live-server: expected one socket from systemd (LISTEN_FDS)")
    server = socket.socket(fileno=3)
print(f"{name}: serving", flush=True)
while True:
    conn, _ = server.accept()
    conn.sendall(f"{name}\n".encode())
    conn.close()
