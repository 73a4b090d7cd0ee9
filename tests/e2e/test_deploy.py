"""Deployment: `make install`, the systemd unit, the DaemonSet, `make static`.

PID 1 here is not systemd, so the unit cannot be started with systemd-run.
Its hardening is tried piece by piece instead, for real: the tool runs with
exactly the unit's capability set (setpriv, as the unit's bounding set would
leave it) and a private /tmp (as PrivateTmp= gives it) against a racing Go
program of another user in another session, and every system call it makes
is checked against the unit's SystemCallFilter (expanded by systemd-analyze
itself). ProtectSystem=, ProtectKernel*= and the rest are not tried.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import yaml

from conftest import BUILD, GMT, ROOT, go_build, source_line
from test_guard import both_named, json_sides, watchdog_of

STATIC = os.path.join(ROOT, "build", "gomaptrace-static")
UNIT = os.path.join(ROOT, "deploy", "gomaptrace.service")
DAEMONSET = os.path.join(ROOT, "deploy", "daemonset.yaml")
MANPAGE = os.path.join(ROOT, "docs", "gomaptrace.8")
DIR = "/var/lib/gomaptrace"
CAPS = {"CAP_SYS_ADMIN", "CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE",
        "CAP_DAC_READ_SEARCH", "CAP_KILL"}
FATAL = "fatal error: concurrent map writes"
NOBODY = 65534


def unit_settings(path):
    """{(section, key): [values...]} of a unit file, in file order."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, value = line.split("=", 1)
            out.setdefault((section, key), []).append(value)
    return out


def one(settings, key, section="Service"):
    values = settings.get((section, key), [])
    assert len(values) == 1, (key, values)
    return values[0]


def make(*args):
    env = dict(os.environ)
    if os.path.basename(BUILD) == "build-san":
        env["SANITIZE"] = "1"
    return subprocess.run(["make", "-s", "-C", ROOT, *args], env=env,
                          capture_output=True, text=True, check=True)


@pytest.fixture(scope="module")
def destdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("destdir")
    make("install", f"DESTDIR={d}", "PREFIX=/usr")
    return d


def test_install_destdir(destdir, tmp_path):
    """PREFIX=/usr into a DESTDIR: the three files with their modes, the
    binary the build made, ExecStart at /usr/sbin; uninstall removes them."""
    files = {"usr/sbin/gomaptrace": 0o755,
             "usr/share/man/man8/gomaptrace.8": 0o644,
             "usr/lib/systemd/system/gomaptrace.service": 0o644}
    got = sorted(os.path.relpath(os.path.join(r, f), destdir)
                 for r, _, fs in os.walk(destdir) for f in fs)
    assert got == sorted(files)
    for f, mode in files.items():
        assert os.stat(destdir / f).st_mode & 0o7777 == mode, f
    with open(GMT, "rb") as a, open(destdir / "usr/sbin/gomaptrace",
                                    "rb") as b:
        assert a.read() == b.read()
    with open(MANPAGE, "rb") as a, open(
            destdir / "usr/share/man/man8/gomaptrace.8", "rb") as b:
        assert a.read() == b.read()
    s = unit_settings(destdir / "usr/lib/systemd/system/gomaptrace.service")
    assert one(s, "ExecStart") == f"/usr/sbin/gomaptrace daemon --dir {DIR}"
    # Only ExecStart differs from the file in the repository.
    src = unit_settings(UNIT)
    assert one(src, "ExecStart") == \
        f"/usr/local/sbin/gomaptrace daemon --dir {DIR}"
    del s[("Service", "ExecStart")], src[("Service", "ExecStart")]
    assert s == src
    # A second DESTDIR, installed then uninstalled: nothing left but dirs.
    d2 = tmp_path / "d2"
    make("install", f"DESTDIR={d2}", "PREFIX=/usr")
    make("uninstall", f"DESTDIR={d2}", "PREFIX=/usr")
    assert [f for _, _, fs in os.walk(d2) for f in fs] == []


def test_unit_verifies(destdir, tmp_path):
    """systemd-analyze verify passes on the installed unit, its ExecStart
    pointed at the binary in DESTDIR and man finding gomaptrace(8) there
    (verify runs `man gomaptrace(8)` for Documentation=)."""
    unit = tmp_path / "gomaptrace.service"
    text = (destdir / "usr/lib/systemd/system/gomaptrace.service").read_text()
    unit.write_text(text.replace("ExecStart=/usr/sbin/",
                                 f"ExecStart={destdir}/usr/sbin/"))
    env = dict(os.environ, MANPATH=f"{destdir}/usr/share/man:",
               SYSTEMD_LOG_LEVEL="notice")
    p = subprocess.run(["systemd-analyze", "verify", str(unit)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p.stderr
    # The same unit without the manual page installed: verify says so.
    env["MANPATH"] = str(tmp_path)
    p = subprocess.run(["systemd-analyze", "verify", str(unit)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "man gomaptrace(8)" in p.stderr


def test_unit_settings():
    """The unit asks for what the issue names, with the exact values."""
    s = unit_settings(UNIT)
    want = {"Type": "simple", "ExecReload": "kill -HUP $MAINPID",
            "KillSignal": "SIGTERM", "TimeoutStopSec": "5",
            "Restart": "on-failure", "ProtectSystem": "strict",
            "StateDirectory": "gomaptrace", "StateDirectoryMode": "0700",
            "RuntimeDirectory": "gomaptrace", "RuntimeDirectoryMode": "0700",
            "NoNewPrivileges": "yes", "ProtectHome": "read-only",
            "PrivateTmp": "yes", "ProtectKernelModules": "yes",
            "ProtectClock": "yes", "RestrictNamespaces": "yes",
            "LimitMEMLOCK": "infinity"}
    for key, value in want.items():
        assert one(s, key) == value, key
    assert set(one(s, "CapabilityBoundingSet").split()) == CAPS
    assert set(one(s, "AmbientCapabilities").split()) == CAPS
    # Every process's /proc stays visible (hostPID semantics).
    assert ("Service", "ProtectProc") not in s
    assert ("Service", "ProcSubset") not in s


def syscall_groups():
    """{"@group": [members]} as this systemd knows them."""
    out = subprocess.run(["systemd-analyze", "syscall-filter"],
                         capture_output=True, text=True, check=True).stdout
    groups, cur = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            cur = groups.setdefault(line.strip(), [])
        elif cur is not None and line.startswith("    ") and \
                not line.strip().startswith("#"):
            cur.append(line.strip())
    return groups


def allowed_syscalls(filter_words):
    groups, seen, out = syscall_groups(), set(), set()
    todo = list(filter_words)
    while todo:
        w = todo.pop()
        if not w.startswith("@"):
            out.add(w)
        elif w not in seen:
            seen.add(w)
            todo.extend(groups[w])
    return out


def start_other_user(exe):
    """race_stdin as user nobody in a session of its own: neither the
    same user nor the same session as gomaptrace (so SIGCONT needs
    CAP_KILL and /proc/PID/mem needs CAP_DAC_READ_SEARCH and
    CAP_SYS_PTRACE, as for a service's process)."""
    p = subprocess.Popen(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                          "--clear-groups", exe], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    assert p.stdout.readline().strip() == "ready"
    assert os.stat(f"/proc/{p.pid}").st_uid == NOBODY
    return p


def with_caps(caps, argv):
    """argv with exactly caps, as the unit's bounding set leaves root."""
    spec = "-all," + ",".join("+" + c[len("CAP_"):].lower()
                              for c in sorted(caps))
    return ["setpriv", f"--bounding-set={spec}", f"--inh-caps={spec}",
            f"--ambient-caps={spec}", "--", *argv]


# As PrivateTmp=yes leaves the service: a /tmp of its own.
PRIVATE_TMP = 'mount -t tmpfs -o mode=1777 tmpfs /tmp && exec "$@"'


@pytest.fixture
def scratch():
    """(a fresh directory in the host's /tmp, one in /dev/shm), removed
    afterwards: /dev/shm stays visible under a private /tmp."""
    dirs = [tempfile.mkdtemp(prefix="gmt-deploy-", dir=d)
            for d in ("/tmp", "/dev/shm")]
    yield dirs
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def status(run_dir):
    p = subprocess.run([GMT, "status", "--json", "--run-dir", run_dir],
                       capture_output=True, text=True, timeout=30)
    return json.loads(p.stdout) if p.returncode == 0 else None


def wait_until(cond, what, proc, limit=60.0):
    end = time.monotonic() + limit
    while not cond():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < end, f"gave up waiting for {what}"
        time.sleep(0.02)


def strace_facts(path):
    """(system calls made, paths opened, paths written, renamed or
    removed) in an `strace -f` log."""
    used, opened, wrote = set(), set(), set()
    with open(path) as f:
        for line in f:
            m = re.match(r"\d+ +(?:<\.\.\. )?([a-z0-9_]+)\(", line)
            if m:
                used.add(m.group(1))
            m = re.match(r'\d+ +openat\((?:AT_FDCWD|\d+), "([^"]*)", '
                         r"([A-Z_|]+)", line)
            # Relative to a directory fd: inside one it opened by path.
            if m and m.group(1).startswith("/"):
                opened.add(m.group(1))
                if re.search(r"O_WRONLY|O_RDWR|O_CREAT", m.group(2)):
                    wrote.add(m.group(1))
            m = re.match(r'\d+ +(?:unlink|rename|mkdir|chmod)\("([^"]*)"'
                         r'(?:, "([^"]*)")?', line)
            if m:
                wrote.update(x for x in m.groups() if x)
    return used, opened, wrote


def no_leak_check_under_ptrace():
    """make test SANITIZE=1: LeakSanitizer cannot run under strace (ptrace)
    and would fail the daemon's exit; ASan and UBSan stay on."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(
        x for x in (env.get("ASAN_OPTIONS", ""), "detect_leaks=0") if x)
    return env


@pytest.mark.parametrize("go", ["go1.26"])
def test_unit_hardening_daemon_guards_another_users_crash(go, scratch):
    """The daemon with the unit's capabilities and nothing else, and a
    private /tmp, guards a racing program of another user in another
    session whose binary lies in the host's /tmp: the crash lands in DIR
    naming both statements, the program dies as untraced, SIGTERM ends the
    daemon with 0. Every system call it made is allowed by the unit's
    SystemCallFilter, its only sockets are AF_UNIX, and it wrote nowhere
    but DIR and its run directory. Crash-only names both sides in most
    runs, not all (the other writer may be off the CPU at the freeze): up
    to 3 tries, each report honest about a missing side."""
    for attempt in range(3):
        dirs = [os.path.join(d, f"try{attempt}") for d in scratch]
        for d in dirs:
            os.mkdir(d)
        if hardened_once(go, *dirs):
            return
    pytest.fail("no crash report named both sides in 3 runs")


def hardened_once(go, host_tmp, shm):
    os.chmod(os.path.dirname(host_tmp), 0o755)
    os.chmod(host_tmp, 0o755)
    exe = os.path.join(host_tmp, "racer")
    shutil.copy2(go_build("race_stdin", go=go), exe)
    lines = {source_line("race_stdin", "@writeA"),
             source_line("race_stdin", "@writeB")}
    out, run, calls = (os.path.join(shm, x) for x in ("out", "run",
                                                      "strace"))
    # The checkout may itself be under /tmp (a clone there): run a copy
    # the private /tmp leaves visible.
    gmt_copy = os.path.join(shm, "gomaptrace")
    shutil.copy2(GMT, gmt_copy)
    daemon = subprocess.Popen([
        "unshare", "--mount", "--propagation", "private", "sh", "-c",
        PRIVATE_TMP, "sh", *with_caps(CAPS, [
            "strace", "-f", "-qq", "-o", calls, gmt_copy, "daemon", "--dir",
            out,
            "--run-dir", run, "--exe", f"{host_tmp}/*"])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=no_leak_check_under_ptrace())
    app = None
    try:
        wait_until(lambda: status(run) is not None, "the daemon", daemon)
        # The daemon is strace's child; it cannot see the binary's path.
        (gmt,) = open(f"/proc/{daemon.pid}/task/{daemon.pid}/children"
                      ).read().split()
        assert not os.path.exists(f"/proc/{gmt}/root{exe}")
        assert os.path.exists(exe)
        app = start_other_user(exe)
        wait_until(lambda: app.pid in {t["pid"] for t in
                                       status(run)["targets"]} and
                   watchdog_of(app.pid), "the daemon to guard it", daemon)
        app.stdin.write("go\n")
        app.stdin.flush()
        assert app.wait(timeout=60) == 2
        assert app.stderr.read().splitlines()[0] == FATAL
        crashes = os.path.join(out, "crashes")
        wait_until(lambda: any(not x.startswith(".")
                               for x in os.listdir(crashes)),
                   "the crash report", daemon)
        os.kill(int(gmt), signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0, daemon.stderr.read()
    finally:
        for p in (app, daemon):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    (crash,) = [x for x in os.listdir(crashes) if not x.startswith(".")]
    assert crash.startswith(f"racer-{app.pid}-"), crash
    with open(os.path.join(crashes, crash, "report.json")) as f:
        c = json.load(f)["crash"]
    assert c["message"] == "concurrent map writes" and c["frozen"] is True
    named = both_named(json_sides(c, "race_stdin", lines), lines)
    if not named:
        with open(os.path.join(crashes, crash, "report.txt")) as f:
            text = f.read()
        assert "the other side was not running on a CPU" in text, text

    unit = unit_settings(UNIT)
    allowed = allowed_syscalls(one(unit, "SystemCallFilter").split())
    used, opened, wrote = strace_facts(calls)
    assert {"bpf", "perf_event_open", "pidfd_send_signal"} <= used, used
    assert used - allowed == set()
    # RestrictAddressFamilies=AF_UNIX: the control socket only.
    assert one(unit, "RestrictAddressFamilies") == "AF_UNIX"
    families = set()
    with open(calls) as f:
        for line in f:
            m = re.match(r"\d+ +socket\((AF_\w+)", line)
            if m:
                families.add(m.group(1))
    assert families == {"AF_UNIX"}, families
    # ProtectSystem=strict: it writes in DIR (StateDirectory=) and its run
    # directory (RuntimeDirectory=) only; PrivateDevices= keeps /dev/null.
    bad = {w for w in wrote if w != "/dev/null" and
           os.path.commonpath([w, shm]) != shm}
    assert bad == set(), bad
    assert os.path.join(run, "daemon.lock") in wrote
    # ProtectKernelTunables= makes these inaccessible: never needed.
    assert not opened & {"/proc/kallsyms", "/proc/kcore"}, opened
    return named


@pytest.mark.parametrize("go", ["go1.19"])
def test_unit_capabilities_are_needed(go, tmp_path):
    """CAP_SYS_ADMIN is the uprobe's (Linux >= 6.16), CAP_SYS_PTRACE the
    other user's /proc/PID/exe: without either, one line and status 1."""
    exe = go_build("race_stdin", go=go)
    app = start_other_user(exe)
    try:
        for drop, msg in (
                ("CAP_SYS_ADMIN", "gomaptrace: no permission to trace: run "
                 "as root (CAP_BPF+CAP_PERFMON load BPF programs; uprobes "
                 "also need CAP_SYS_ADMIN)"),
                ("CAP_SYS_PTRACE", f"gomaptrace: PID {app.pid}: permission "
                 f"denied reading /proc/{app.pid}/exe: run as root or as "
                 "the process's owner")):
            p = subprocess.run(with_caps(CAPS - {drop}, [
                GMT, "record", "-p", str(app.pid), "--crash-only", "-o",
                str(tmp_path / "t.gmt")]), capture_output=True, text=True,
                timeout=60)
            assert (p.returncode, p.stderr) == (1, msg + "\n"), drop
        assert app.poll() is None
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait()


def test_daemonset():
    """One DaemonSet: hostPID, the unit's capabilities (not privileged),
    DIR and /run/gomaptrace on hostPaths, limits, an image."""
    with open(DAEMONSET) as f:
        docs = list(yaml.safe_load_all(f))
    assert len(docs) == 1
    ds = docs[0]
    assert (ds["apiVersion"], ds["kind"]) == ("apps/v1", "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    assert ds["spec"]["selector"]["matchLabels"].items() <= \
        ds["spec"]["template"]["metadata"]["labels"].items()
    assert pod["hostPID"] is True
    [c] = pod["containers"]
    assert c["image"]
    assert c["command"] == ["/gomaptrace", "daemon", "--dir", DIR]
    sc = c["securityContext"]
    assert sc["privileged"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert {"CAP_" + x for x in sc["capabilities"]["add"]} == CAPS
    assert sc["readOnlyRootFilesystem"] is True
    for r in ("cpu", "memory"):
        assert c["resources"]["limits"][r] and c["resources"]["requests"][r]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert set(mounts) == {DIR, "/run/gomaptrace"}
    for path, name in mounts.items():
        assert volumes[name]["hostPath"]["path"] == path
    assert len(volumes) == 2


def help_options(cmd):
    """The long options a command's --help lists."""
    text = subprocess.run([GMT, cmd, "--help"], capture_output=True,
                          text=True, check=True).stdout
    return set(re.findall(r"^ +(?:-\w, )?(--[a-z][a-z-]*)", text, re.M))


def test_man_page():
    """gomaptrace(8) renders without a warning and names every command and
    every option their --help lists, the daemon's and status's too."""
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    p = subprocess.run(["man", "--warnings=all", "-E", "UTF-8", "-l",
                        MANPAGE], env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    text = p.stdout.replace("\u2010", "-")
    top = subprocess.run([GMT, "--help"], capture_output=True, text=True,
                         check=True).stdout
    listed = top.split("Commands:")[1].split("Examples:")[0]
    cmds = re.findall(r"^  ([a-z]+) ", listed, re.M)
    assert len(cmds) >= 6, top
    for cmd in cmds:
        assert re.search(rf"^   {cmd} ", text, re.M), cmd
        for opt in help_options(cmd) - {"--help"}:
            assert opt in text, (cmd, opt)
    for cmd in ("daemon", "status"):
        assert re.search(rf"^   {cmd} ", text, re.M), cmd
    for opt in ("--dir", "--budget", "--exe", "--pid", "--interval",
                "--max-disk", "--json", "--version"):
        assert opt in text, opt
    for section in ("EXIT STATUS", "FILES", "EXAMPLES"):
        assert re.search(rf"^{section}$", text, re.M), section


def test_static_binary_is_static():
    """build/gomaptrace-static (make static) has no dynamic section and no
    interpreter: it runs on a host without libbpf, libelf or zlib."""
    assert os.access(STATIC, os.X_OK), "run `make static`"
    d = subprocess.run(["readelf", "-d", STATIC], capture_output=True,
                       text=True, check=True).stdout
    assert "There is no dynamic section in this file." in d
    ph = subprocess.run(["readelf", "-lW", STATIC], capture_output=True,
                        text=True, check=True).stdout
    assert "INTERP" not in ph and "Requesting program interpreter" not in ph
    out = subprocess.run(["file", "-b", STATIC], capture_output=True,
                         text=True, check=True).stdout
    assert "statically linked" in out, out


@pytest.mark.parametrize("go", ["go1.27"])
def test_static_binary_works(go, tmp_path):
    """The static binary says what the dynamic one says about a Go binary,
    and guards a racing program (run --crash-only) to its frozen crash."""
    exe = go_build("race_writes", go=go)
    args = ["info", exe, "--json"]
    a = subprocess.run([GMT, *args], capture_output=True, text=True,
                       check=True).stdout
    b = subprocess.run([STATIC, *args], capture_output=True, text=True,
                       check=True).stdout
    assert a == b and json.loads(b)["probes"]
    out = tmp_path / "r.json"
    p = subprocess.run([STATIC, "run", "--crash-only", "-f", "json", "-o",
                        str(out), "--", exe], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stderr.splitlines()[0] == FATAL
    crash = json.loads(out.read_text())["crash"]
    assert crash["message"] == "concurrent map writes"
    assert crash["frozen"] is True
    lines = {source_line("race_writes", "@writeA"),
             source_line("race_writes", "@writeB")}
    mine = [f["line"] for f in crash["frames"]
            if f["file"].endswith("/tests/go/race_writes/main.go")]
    assert mine and mine[0] in lines, crash["frames"]
