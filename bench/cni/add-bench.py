#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The pods of bench/cni/run.sh, as a runtime would run them.

  add-bench.py PODS BRIDGE PLUGIN SOCKET HOST_NS TMP OBJECT DAEMON_PID

For each configuration of netnslink's links, PODS netns (bcni-1..PODS) one
after the other: the bridge plugin's ADD (in netns HOST_NS), then
netnslink's ADD with the bridge's result as prevResult; each timed as the
runtime sees it (fork, exec, answer), with its CPU time, and the daemon's
CPU per ADD (its own and its program-loading children's). Then DEL of all.
The floor: /bin/true started the same way, what any plugin costs at least.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

pods, bridge, plugin, socket, host_ns, tmp, obj, daemon = sys.argv[1:9]
pods = int(pods)
tick = os.sysconf("SC_CLK_TCK")

# Debian's bridge speaks up to 1.0.0.
bridge_conf = {"cniVersion": "1.0.0", "name": "bench", "type": "bridge", "bridge": "nlbench0",
               "isGateway": True, "ipam": {"type": "host-local", "dataDir": tmp + "/ipam",
                                           "ranges": [[{"subnet": "10.200.0.0/16"}]]}}
flow = {"attachType": "flow_dissector", "name": "flow", "program": "builtin:flow"}
steer = {"attachType": "sk_lookup", "name": "web", "program": "builtin:steer",
         "bindings": [{"protocol": "tcp", "prefix": "10.200.0.0/16", "port": 80, "label": "www"}]}
objprog = {"attachType": "sk_lookup", "name": "obj", "program": obj + ":sk_pass"}
configs = [("builtin:flow", [flow]),
           ("builtin:flow + an object's sk_lookup program", [flow, objprog]),
           ("builtin:flow + builtin:steer, 1 binding", [flow, steer])]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000


def daemon_cpu():
    """The daemon's CPU and its waited-for children's (program loads), ms."""
    with open("/proc/%s/stat" % daemon) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) * 1000 / tick


def run(cmd, conf, command, i):
    """(wall ms, CPU ms, stdout) of one plugin run."""
    env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID="bench-%d" % i, CNI_IFNAME="eth0",
               CNI_NETNS="/run/netns/bcni-%d" % i, CNI_PATH="/usr/lib/cni")
    cpu0, t0 = children_cpu(), time.monotonic()
    r = subprocess.run(cmd, input=json.dumps(conf).encode(), env=env, capture_output=True)
    ms, cpu = (time.monotonic() - t0) * 1000, children_cpu() - cpu0
    if r.returncode != 0:
        sys.exit("%s %s of pod %d failed: %s %s" % (cmd[-1], command, i, r.stdout, r.stderr))
    return ms, cpu, r.stdout


def wall(ms):
    ms = sorted(ms)
    return "%7.2f / %7.2f" % (statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.99))])


def netnslink_conf(links, prev=None):
    conf = {"cniVersion": "1.0.0", "name": "bench", "type": "netnslink", "socket": socket, "links": links}
    if prev is not None:
        conf["prevResult"] = prev
    return conf


in_host = ["nsenter", "--net=/run/netns/" + host_ns]
rows = []
for name, links in configs:
    b_ms, b_cpu, p_ms, p_cpu = [], [], [], []
    d0 = daemon_cpu()
    for i in range(1, pods + 1):
        ms, cpu, out = run(in_host + [bridge], bridge_conf, "ADD", i)
        b_ms.append(ms)
        b_cpu.append(cpu)
        ms, cpu, out = run([plugin], netnslink_conf(links, json.loads(out)), "ADD", i)
        p_ms.append(ms)
        p_cpu.append(cpu)
    d_cpu = (daemon_cpu() - d0) / pods
    for i in range(1, pods + 1):
        run([plugin], netnslink_conf(links), "DEL", i)
        run(in_host + [bridge], bridge_conf, "DEL", i)
    rows.append((name, wall(b_ms), statistics.mean(b_cpu), wall(p_ms), statistics.mean(p_cpu), d_cpu))

# The floor of any plugin: a runtime starting a process that does nothing.
floor_ms, floor_cpu = [], []
for i in range(1, pods + 1):
    ms, cpu, out = run(["/bin/true"], {}, "ADD", i)
    floor_ms.append(ms)
    floor_cpu.append(cpu)

print("ADD of %d pods, one after the other: wall ms (median / p99), CPU ms per ADD (mean)" % pods)
print("%-44s %17s %6s   %17s %6s %7s" % ("netnslink's links", "bridge wall", "CPU", "netnslink wall", "CPU",
                                         "daemon"))
for name, bw, bc, pw, pc, dc in rows:
    print("%-44s %17s %6.2f   %17s %6.2f %7.2f" % (name, bw, bc, pw, pc, dc))
print("%-44s %17s %6s   %17s %6.2f" % ("(floor: /bin/true started the same way)", "", "", wall(floor_ms),
                                      statistics.mean(floor_cpu)))
print("target: netnslink's ADD <= 2 ms over the plugins before it. Load average now: %.1f" % os.getloadavg()[0])
