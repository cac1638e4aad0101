#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks contrib/kubernetes against the daemon it deploys.

    check-kubernetes.py MANIFESTS SOURCE BUILD STAGE [FIRST]

MANIFESTS is the folder of the manifests (contrib/kubernetes or a changed
copy of it), SOURCE the source tree, BUILD the build folder, STAGE a
`cmake --install --prefix /usr` of BUILD into a DESTDIR. Prints one TAP
line per check, numbered from FIRST (default 1), then a comment with the
counts, and exits 1 if any failed.

What the daemon really uses is read from where the daemon says it: the
capabilities from src/daemon/caps.c, paths from the #define strings of
src/daemon and src/lib and from the unit (its sandbox's paths, and
/run/dbus for its bus name), options and their defaults from `netnslinkd
--help` of the build, installed file paths from STAGE, the package's file
name from BUILD/CPackConfig.cmake, and the ConfigMap's files are checked by
the build's own `netnslinkctl verify`.

No schema validation: kubeconform is no Debian package, and kubectl
validates only against a running API server. The structure the API server
would refuse (selector against labels, volumes against mounts, privilege
escalation with SYS_ADMIN) is checked here instead.
"""

import fnmatch
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

import yaml

MANIFESTS, SOURCE, BUILD, STAGE = sys.argv[1:5]
FIRST = int(sys.argv[5]) if len(sys.argv) > 5 else 1
NLD = os.path.join(BUILD, "src/daemon/netnslinkd")
CTL = os.path.join(BUILD, "src/ctl/netnslinkctl")

KINDS = {
    ("v1", "Namespace"),
    ("v1", "ConfigMap"),
    ("apps/v1", "DaemonSet"),
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
}
# Where container runtimes look for CNI plugins by default (containerd's
# bin_dir, CRI-O's plugin_dirs, the CNI spec's CNI_PATH convention).
CNI_BIN_DIR = "/opt/cni/bin"
CNI_VERSIONS = {"1.0.0", "1.1.0"}          # the plugin's (CONTRACT: CNI plugin)
LINK_KEYS = {"attachType", "name", "program", "bindings"}
BINDING_KEYS = {"protocol", "prefix", "port", "label"}

results = []


def report(ok, desc, *detail):
    ok = bool(ok)           # a failed re.match is None, and must count as a failure
    results.append(ok)
    print(("ok" if ok else "not ok") + " %d - %s" % (FIRST + len(results) - 1, desc))
    for d in detail:
        if not ok:
            print("#   " + str(d))
    return ok


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---- what the daemon uses, from its own files --------------------------------

def kept_capabilities():
    """The kept[] array of src/daemon/caps.c, without the CAP_ prefix."""
    m = re.search(r"\bkept\s*\[\s*\]\s*=\s*\{([^}]*)\}", read(os.path.join(SOURCE, "src/daemon/caps.c")))
    if not m:
        return None
    return {c.strip()[len("CAP_"):] for c in m.group(1).split(",") if c.strip()}


def unit_paths():
    """Paths the unit's sandbox opens to the daemon, and those it needs mounted."""
    paths = set()
    for line in read(os.path.join(SOURCE, "systemd/netnslinkd.service")).splitlines():
        key, sep, value = line.partition("=")
        if not sep or line.lstrip().startswith("#"):
            continue
        key = key.strip()
        words = [w.lstrip("-+") for w in value.split()]
        if key in ("RequiresMountsFor", "ReadWritePaths", "ReadOnlyPaths"):
            paths.update(w for w in words if w.startswith("/"))
        elif key == "RuntimeDirectory":
            paths.update("/run/" + w for w in words)
        elif key == "StateDirectory":
            paths.update("/var/lib/" + w for w in words)
        elif key == "ConfigurationDirectory":
            paths.update("/etc/" + w for w in words)
        elif key == "BusName" or (key in ("Requires", "Wants") and "dbus.socket" in words):
            # The system bus: sd-bus's default address is in /run/dbus.
            paths.add("/run/dbus")
    return paths


def source_paths():
    """Absolute path strings of the #define lines of the daemon and library."""
    paths = {}
    for f in glob.glob(os.path.join(SOURCE, "src/daemon/*.[ch]")) + glob.glob(os.path.join(SOURCE, "src/lib/*.[ch]")):
        for line in read(f).splitlines():
            if re.match(r"\s*#\s*define\s", line):
                for p in re.findall(r'"(/[^"]*)"', line):
                    if not p.startswith("/org/"):          # D-Bus object paths
                        paths.setdefault(p, os.path.relpath(f, SOURCE))
    return paths


def source_define(name):
    for f in glob.glob(os.path.join(SOURCE, "src/*/*.h")):
        m = re.search(r"#\s*define\s+" + name + r'\s+"([^"]*)"', read(f))
        if m:
            return m.group(1)
    return None


def daemon_help():
    try:
        return subprocess.run([NLD, "--help"], capture_output=True, text=True, timeout=30).stdout
    except OSError as e:
        return "cannot run %s: %s" % (NLD, e)


def help_options(text):
    """{--option: default or None} from netnslinkd --help."""
    opts = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"\s+(?:-\w\s+)?(--[\w-]+)", line)
        if not m:
            continue
        block = line
        for nxt in lines[i + 1:]:
            if re.match(r"\s+(?:-\w\s+)?--", nxt) or not nxt.strip():
                break
            block += " " + nxt.strip()
        d = re.search(r"\(default:\s*([^);]*)", block)
        opts[m.group(1)] = d.group(1).strip() if d else None
    return opts


# ---- the manifests ---------------------------------------------------------------

def load_manifests():
    docs = []
    files = sorted(glob.glob(os.path.join(MANIFESTS, "*.yaml")))
    report(bool(files), "there are manifests in " + MANIFESTS)
    for f in files:
        try:
            parsed = [d for d in yaml.safe_load_all(read(f)) if d is not None]
        except yaml.YAMLError as e:
            report(False, os.path.basename(f) + " parses as YAML", e)
            continue
        good = all(isinstance(d, dict) for d in parsed) and parsed
        report(good, os.path.basename(f) + " parses as YAML, one or more objects")
        for d in parsed if good else []:
            d["__file"] = os.path.basename(f)
            docs.append(d)
    return docs


def of_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def containers(ds):
    spec = ds["spec"]["template"]["spec"]
    return spec.get("initContainers", []), spec.get("containers", [])


def check_kinds(docs):
    for d in docs:
        what = "%s: %s/%s" % (d["__file"], d.get("apiVersion"), d.get("kind"))
        report((d.get("apiVersion"), d.get("kind")) in KINDS, what + " is a known kind and apiVersion",
               "known: %s" % sorted(KINDS))
        if d.get("kind") != "Kustomization":
            report(bool((d.get("metadata") or {}).get("name")), what + " has metadata.name")
    for kind in ("Namespace", "ConfigMap", "DaemonSet"):
        report(len(of_kind(docs, kind)) == 1, "exactly one " + kind)
    ns = [d["metadata"]["name"] for d in of_kind(docs, "Namespace")]
    for d in of_kind(docs, "ConfigMap") + of_kind(docs, "DaemonSet"):
        report(d["metadata"].get("namespace") in ns, "%s %s is in the namespace made here" % (d["kind"], d["metadata"]["name"]),
               "namespace: %s, made: %s" % (d["metadata"].get("namespace"), ns))
    for k in of_kind(docs, "Kustomization"):
        others = sorted({d["__file"] for d in docs if d is not k})
        report(sorted(k.get("resources", [])) == others, "kustomization.yaml lists every other manifest",
               "resources: %s" % sorted(k.get("resources", [])), "files: %s" % others)


def check_daemonset_structure(ds, docs):
    spec = ds["spec"]["template"]["spec"]
    selector = ds["spec"].get("selector", {}).get("matchLabels", {})
    labels = ds["spec"]["template"].get("metadata", {}).get("labels", {})
    report(bool(selector) and all(labels.get(k) == v for k, v in selector.items()),
           "the DaemonSet's selector matches its pod labels", "selector: %s" % selector, "labels: %s" % labels)
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    inits, mains = containers(ds)
    mounted = set()
    for c in inits + mains:
        for m in c.get("volumeMounts", []):
            mounted.add(m["name"])
            report(m["name"] in volumes, "%s: volume %s exists" % (c["name"], m["name"]))
    report(set(volumes) <= mounted, "every volume is mounted", "not mounted: %s" % sorted(set(volumes) - mounted))
    maps = {d["metadata"]["name"] for d in of_kind(docs, "ConfigMap")}
    for v in volumes.values():
        if "configMap" in v:
            report(v["configMap"].get("name") in maps, "volume %s names the ConfigMap made here" % v["name"])
    for c in inits + mains:
        sc = c.get("securityContext", {})
        report(sc.get("privileged") is not True, c["name"] + ": not privileged")
        caps = set(sc.get("capabilities", {}).get("add", []))
        if sc.get("allowPrivilegeEscalation") is False:
            # The API server refuses this combination.
            report(not ({"SYS_ADMIN", "CAP_SYS_ADMIN"} & caps),
                   c["name"] + ": allowPrivilegeEscalation false is not combined with SYS_ADMIN")
    report("privileged" not in (spec.get("securityContext") or {}), "the pod sets no privileged")
    return volumes


def host_mounts(container, volumes):
    """[(hostPath, mountPath)] of a container."""
    out = []
    for m in container.get("volumeMounts", []):
        v = volumes.get(m["name"], {})
        if "hostPath" in v:
            out.append((os.path.normpath(v["hostPath"]["path"]), os.path.normpath(m["mountPath"])))
    return out


def check_daemon(daemon, volumes, staged):
    opts = help_options(daemon_help())
    command = daemon.get("command", [])
    args = daemon.get("args", [])
    report(bool(command) and command[0] in staged, "the daemon runs %s, a file the package installs" %
           (command[0] if command else "(no command)"), "installed: %s" % sorted(p for p in staged if "sbin" in p))
    given = {}
    for a in command[1:] + args:
        name, _, value = a.partition("=")
        report(name in opts, "netnslinkd knows %s" % name, "its --help lists: %s" % sorted(opts))
        given[name] = value

    # Paths.
    src = source_paths()
    unit = unit_paths()
    used = set(src) | unit
    mounts = host_mounts(daemon, volumes)
    for host, inside in mounts:
        where = ", ".join(([src[host]] if host in src else []) + (["netnslinkd.service"] if host in unit else []))
        report(host in used, "hostPath %s is a path the daemon uses (%s)" % (host, where or "nowhere"),
               "the daemon's paths: %s" % sorted(used))
        report(host == inside, "hostPath %s is mounted at the same path (%s)" % (host, inside))

    def under_mount(path):
        return any(path == h or path.startswith(h.rstrip("/") + "/") for h, _ in mounts)

    pin_root = given.get("--pin-root") or opts.get("--pin-root")
    report(pin_root == source_define("NL_PIN_ROOT_DEFAULT"), "the pin root is the package's (%s)" % pin_root,
           "NL_PIN_ROOT_DEFAULT: %s" % source_define("NL_PIN_ROOT_DEFAULT"))
    report(bool(pin_root) and under_mount(pin_root), "the pin root %s is on a hostPath, so pins outlive the pod" % pin_root)
    netns_dir = source_define("NL_NETNS_RUN_DIR")
    report(bool(netns_dir) and under_mount(netns_dir), "the netns folder %s is the node's" % netns_dir)
    socket = given.get("--private-socket") or opts.get("--private-socket")
    report(bool(socket), "netnslinkd has --private-socket, and a default socket path",
           "not in `netnslinkd --help` of this build: the private socket (CONTRACT, Private socket) is missing")
    if socket:
        report(under_mount(os.path.dirname(socket)), "the private socket %s is in a hostPath the plugin reaches" % socket)

    # Capabilities.
    kept = kept_capabilities()
    sc = daemon.get("securityContext", {})
    added = {c.upper().removeprefix("CAP_") for c in sc.get("capabilities", {}).get("add", [])}
    report(kept is not None, "src/daemon/caps.c has its kept[] array")
    report(added == kept, "the daemon gets exactly the capabilities it keeps (%s)" % ", ".join(sorted(kept or [])),
           "added: %s" % sorted(added), "caps.c keeps: %s" % sorted(kept or []),
           "extra: %s, missing: %s" % (sorted(added - (kept or set())), sorted((kept or set()) - added)))
    report("ALL" in sc.get("capabilities", {}).get("drop", []), "the daemon drops every other capability")

    probe = daemon.get("readinessProbe", {}).get("exec", {}).get("command", [])
    if probe:
        report(probe[0] in staged, "the readiness probe runs %s, a file the package installs" % probe[0])
        report(all(not a.startswith("--") or a.split("=")[0] in ctl_options() for a in probe[1:]),
               "netnslinkctl knows the probe's options %s" % probe[1:])
    return socket, pin_root


def ctl_options():
    out = subprocess.run([CTL, "--help"], capture_output=True, text=True, timeout=30).stdout
    return set(re.findall(r"(--[\w-]+)", out))


def check_init(init, volumes, staged):
    sc = init.get("securityContext", {})
    report(not sc.get("capabilities", {}).get("add"), init["name"] + ": adds no capability")
    mounts = host_mounts(init, volumes)
    report(len(mounts) == 1 and mounts[0][0] == CNI_BIN_DIR,
           "%s mounts only the node's CNI bin dir %s" % (init["name"], CNI_BIN_DIR), "hostPaths: %s" % mounts)
    script = " ".join(init.get("command", []) + init.get("args", []))
    words = shlex.split(script.replace("&&", " ; ").replace(";", " ; "))
    copies = [words[i + 1:i + 3] for i, w in enumerate(words) if w == "cp" and len(words) > i + 2]
    moves = [words[i + 1:] for i, w in enumerate(words) if w == "mv"]
    plugin = "/usr/lib/cni/netnslink"
    report(any(c[0] == plugin for c in copies), "%s copies %s" % (init["name"], plugin), "script: %s" % script)
    report(plugin in staged, "the package installs the CNI plugin %s" % plugin,
           "not in `cmake --install` of this build: the CNI plugin (CONTRACT, CNI plugin) is missing")
    if mounts:
        inside = mounts[0][1]
        final = [m for m in moves if m and m[-1] == os.path.join(inside, "netnslink")]
        report(bool(final), "%s puts it at %s/netnslink, the name the conflist's type says" % (init["name"], inside),
               "script: %s" % script)
        report(all(c[1].startswith(inside + "/") for c in copies) and all(m[-2].startswith(inside + "/") for m in final),
               "%s writes only in the CNI bin dir, and renames into place" % init["name"])


def check_configmap(cm):
    data = cm.get("data", {})
    report(bool(data), "the ConfigMap holds configuration files")
    for key in data:
        report(key.endswith(".conf") and not key.startswith("."), "ConfigMap key %s is a name the daemon reads (*.conf)" % key)
    # The folder as kubelet lays a ConfigMap out: the keys are links into
    # ..data, a link to a timestamped folder. The daemon reads it this way.
    root = tempfile.mkdtemp(prefix="nlk8s")
    try:
        links = os.path.join(root, "etc/netnslink/links.d")
        stamp = "..2026_01_01_00_00_00.000000000"
        os.makedirs(os.path.join(links, stamp))
        for key, text in data.items():
            with open(os.path.join(links, stamp, key), "w", encoding="utf-8") as f:
                f.write(text)
            os.symlink(os.path.join("..data", key), os.path.join(links, key))
        os.symlink(stamp, os.path.join(links, "..data"))
        r = subprocess.run([CTL, "--json=short", "verify", "--config-root=" + root],
                           capture_output=True, text=True, timeout=60)
        try:
            rows = json.loads(r.stdout)
        except ValueError:
            rows = []
        seen = {os.path.basename(row.get("file", "")): row for row in rows}
        report(r.returncode == 0, "netnslinkctl verify accepts the ConfigMap's files, laid out as kubelet does",
               "exit %d" % r.returncode, r.stdout.strip(), r.stderr.strip())
        for key in data:
            row = seen.get(key, {})
            report(row.get("status") == "ok", "netnslinkctl verify reads %s: %s" % (key, row.get("status", "not listed")),
                   row.get("error", ""))
    finally:
        subprocess.run(["rm", "-rf", root], check=False)


def check_containerfile(daemon, staged):
    path = os.path.join(MANIFESTS, "Containerfile")
    if not report(os.path.exists(path), "there is a Containerfile"):
        return
    text = re.sub(r"\\\n", " ", read(path))
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    instr = [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "") for l in lines]
    known = {"FROM", "COPY", "RUN", "ENTRYPOINT", "CMD", "ENV", "ARG", "LABEL", "STOPSIGNAL", "WORKDIR", "USER"}
    report(all(i in known for i, _ in instr), "every Containerfile instruction is known",
           "unknown: %s" % [i for i, _ in instr if i not in known])
    froms = [a for i, a in instr if i == "FROM"]
    report(len(froms) == 1 and re.fullmatch(r"debian:(bookworm|12)(-slim)?", froms[0]),
           "it builds FROM Debian 12 (%s)" % froms)
    cpack = read(os.path.join(BUILD, "CPackConfig.cmake"))
    name = re.search(r'CPACK_PACKAGE_NAME "([^"]*)"', cpack)
    version = re.search(r'CPACK_PACKAGE_VERSION "([^"]*)"', cpack)
    deb = "%s_%s_amd64.deb" % (name.group(1), version.group(1)) if name and version else "?"
    copies = [a.split() for i, a in instr if i == "COPY"]
    report(any(fnmatch.fnmatch(deb, os.path.basename(c[0])) for c in copies if c),
           "it copies in the package cpack makes (%s)" % deb, "COPY: %s" % copies)
    runs = " ".join(a for i, a in instr if i == "RUN")
    report(re.search(r"apt-get install\b[^;&]*\.deb|apt-get install\b[^;&]*\"\$1\"", runs) is not None
           and "netnslink_*_amd64.deb" in runs, "it installs that package with apt-get (dependencies included)")
    entry = [a for i, a in instr if i == "ENTRYPOINT"]
    try:
        entry = json.loads(entry[-1]) if entry else []
    except ValueError:
        entry = []
    want = daemon.get("command", ["?"])[0]
    report(bool(entry) and entry[0] == want and want in staged,
           "its ENTRYPOINT is the daemon's installed path %s" % want, "ENTRYPOINT: %s" % entry)
    for f in ("/usr/sbin/netnslinkd", "/usr/lib/cni/netnslink"):
        if f in runs:
            report(f in staged, "the file it tests for, %s, is one the package installs" % f)


def check_conflists(socket):
    files = sorted(glob.glob(os.path.join(MANIFESTS, "examples", "*.conflist")))
    report(bool(files), "there is an example conflist")
    for f in files:
        base = os.path.basename(f)
        try:
            conf = json.loads(read(f))
        except ValueError as e:
            report(False, base + " parses as JSON", e)
            continue
        report(conf.get("cniVersion") in CNI_VERSIONS, "%s: cniVersion %s is one the plugin speaks" % (base, conf.get("cniVersion")))
        plugins = conf.get("plugins", [])
        ours = [i for i, p in enumerate(plugins) if p.get("type") == "netnslink"]
        report(len(ours) == 1 and ours[0] > 0, "%s: netnslink is chained behind the cluster's plugin" % base)
        for i in ours:
            p = plugins[i]
            report(p.get("socket") == socket, "%s: its socket is the daemon's private socket" % base,
                   "socket: %s, daemon: %s" % (p.get("socket"), socket))
            for link in p.get("links", []):
                ok = (set(link) <= LINK_KEYS and link.get("attachType") in ("sk_lookup", "flow_dissector")
                      and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", link.get("name", "")) is not None
                      and all(set(b) <= BINDING_KEYS for b in link.get("bindings", [])))
                report(ok, "%s: link %s has the contract's keys and values" % (base, link.get("name")), link)


def main():
    staged = set()
    for dirpath, _, names in os.walk(STAGE):
        for n in names:
            staged.add("/" + os.path.relpath(os.path.join(dirpath, n), STAGE))
    docs = load_manifests()
    check_kinds(docs)
    dss = of_kind(docs, "DaemonSet")
    if dss:
        ds = dss[0]
        volumes = check_daemonset_structure(ds, docs)
        inits, mains = containers(ds)
        report(len(mains) == 1 and len(inits) == 1, "one daemon container and one init container")
        daemon = mains[0] if mains else {}
        socket, _ = check_daemon(daemon, volumes, staged)
        for init in inits:
            check_init(init, volumes, staged)
        seen = {h for c in inits + mains for h, _ in host_mounts(c, volumes)}
        declared = {os.path.normpath(v["hostPath"]["path"]) for v in volumes.values() if "hostPath" in v}
        report(declared <= seen, "no hostPath volume is left unchecked", "unmounted: %s" % sorted(declared - seen))
        check_containerfile(daemon, staged)
        check_conflists(socket)
    for cm in of_kind(docs, "ConfigMap"):
        check_configmap(cm)
    failed = results.count(False)
    print("# %d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
