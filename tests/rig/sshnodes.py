"""SSH build nodes on this machine: network namespaces with veth pairs, each running Debian's sshd.

Each node is a network namespace (its own addresses, routes and sockets; the filesystem is
shared, so the node runs the checkout's own ``.venv/bin/dockyard``) with:
  - a veth pair ``10.A.B.(4i+1)/30`` (host side) -- ``10.A.B.(4i+2)/30`` (node side), and a
    default route back to the host, so every node reaches addresses on the host's veths;
  - ``sshd -D`` listening on the node address with a host key, an authorized key and a
    known_hosts file made here; ``SetEnv`` gives each node its own DOCKYARD_ROOT (separate stores)
    and a PATH that finds the checkout's dockyard;
  - its own UTS namespace named after the node.
The client reaches the nodes with ``DOCKYARD_SSH_COMMAND="ssh -F <config>"``. Names are unique per
rig (the pid and a random suffix) and everything is removed by :meth:`SshFarm.stop`, also after
a failure half-way through :func:`start_farm`.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def _ip(*argv: str) -> str:
    out = subprocess.run(["ip", *argv], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"ip {' '.join(argv)}: {out.stderr.strip()}")
    return out.stdout


@dataclass
class SshHost:
    """One node: ``address`` is where its sshd listens; ``root`` its DOCKYARD_ROOT."""

    name: str
    netns: str
    address: str
    host_side: str
    root: Path
    sshd: subprocess.Popen[bytes] | None = None

    @property
    def docker_config(self) -> Path:
        """The node's own DOCKER_CONFIG directory (dockyard on the node must never read it)."""
        return self.root.parent / f"{self.name}-docker"

    @property
    def endpoint(self) -> str:
        return f"ssh://root@{self.address}"

    def pids(self) -> list[int]:
        """Every process in the node's network namespace (its sshd, sessions and dockyard)."""
        out = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True, check=False)
        return [int(p) for p in out.stdout.split()]


@dataclass
class SshFarm:
    workdir: Path
    ssh_config: Path
    registry_address: str  # the host-side address the registry may bind (reachable from every node)
    hosts: list[SshHost] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @property
    def ssh_command(self) -> str:
        return f"ssh -F {self.ssh_config}"

    def kill(self, host: SshHost) -> None:
        """Kill the node: its sshd and everything running in its namespace (connections die with it)."""
        for pid in host.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if host.sshd is not None:
            host.sshd.wait(timeout=10)

    def stop(self) -> None:
        for host in self.hosts:
            self.kill(host)
        # a node killed mid-step leaves its overlay mounts behind (it shares this mount namespace)
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        for mount in sorted((m for m in mounts if m.startswith(f"{self.workdir}/")), key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        for link in self.links:
            subprocess.run(["ip", "link", "del", link], capture_output=True, check=False)
        for host in self.hosts:
            subprocess.run(["ip", "netns", "del", host.netns], capture_output=True, check=False)


def _subnet() -> str:
    """``10.A.B`` not used by any address on this machine."""
    used = _ip("-o", "-4", "addr")
    for _ in range(50):
        prefix = f"10.{random.randint(200, 249)}.{random.randint(0, 255)}"
        if f" {prefix}." not in used:
            return prefix
    raise RuntimeError("no free 10.x.y.0/24 subnet for the SSH rig")


def start_farm(workdir: Path, count: int) -> SshFarm:
    """``count`` SSH nodes, ready for connections (their sshd answers)."""
    workdir.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid() % 10000:04d}{random.randint(0, 99):02d}"
    prefix = _subnet()
    key, host_key = workdir / "id_ed25519", workdir / "ssh_host_ed25519_key"
    for path in (key, host_key):
        if not path.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    (workdir / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    host_pub = host_key.with_suffix(".pub").read_text().split()
    config = workdir / "ssh_config"
    farm = SshFarm(workdir, config, f"{prefix}.1")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    try:
        for i in range(count):
            host = SshHost(name=f"node{i}", netns=f"dy-{tag}-{i}", address=f"{prefix}.{4 * i + 2}",
                           host_side=f"{prefix}.{4 * i + 1}", root=workdir / f"node{i}-root")
            outer, inner = f"dy{tag}h{i}", f"dy{tag}n{i}"
            _ip("netns", "add", host.netns)
            farm.hosts.append(host)
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            farm.links.append(outer)
            _ip("link", "set", inner, "netns", host.netns)
            _ip("addr", "add", f"{host.host_side}/30", "dev", outer)
            _ip("link", "set", outer, "up")
            for argv in (["addr", "add", f"{host.address}/30", "dev", inner], ["link", "set", inner, "up"],
                         ["link", "set", "lo", "up"], ["route", "add", "default", "via", host.host_side]):
                _ip("-n", host.netns, *argv)
            _start_sshd(farm, host, host_key)
        known = "".join(f"{h.address} {host_pub[0]} {host_pub[1]}\n" for h in farm.hosts)
        (workdir / "known_hosts").write_text(known)
        config.write_text(
            "Host *\n"
            f"  IdentityFile {key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {workdir / 'known_hosts'}\n"
            "  StrictHostKeyChecking yes\n  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n"
            "  ConnectTimeout 10\n")
        for host in farm.hosts:
            _wait_port(host.address, 22)
    except BaseException:
        farm.stop()
        raise
    return farm


def _start_sshd(farm: SshFarm, host: SshHost, host_key: Path) -> None:
    host.root.mkdir(parents=True, exist_ok=True)
    xdg = host.root.parent / f"{host.name}-config"
    path = f"{VENV_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    cfg = farm.workdir / f"sshd_config-{host.name}"
    cfg.write_text(
        f"ListenAddress {host.address}:22\nHostKey {host_key}\nPidFile {farm.workdir}/sshd-{host.name}.pid\n"
        f"AuthorizedKeysFile {farm.workdir}/authorized_keys\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "PrintMotd no\nLogLevel ERROR\n"
        f"SetEnv DOCKYARD_ROOT={host.root} XDG_CONFIG_HOME={xdg} DOCKER_CONFIG={host.docker_config} PATH={path} "
        "PYTHONDONTWRITEBYTECODE=1\n")
    log = open(farm.workdir / f"sshd-{host.name}.log", "ab")  # noqa: SIM115 (kept open for the daemon)
    host.sshd = subprocess.Popen(
        # nsenter, not "ip netns exec": that remounts /sys, hiding /sys/fs/cgroup from runc
        ["nsenter", f"--net=/run/netns/{host.netns}", "unshare", "--uts", "sh", "-c",
         f'hostname {host.name}; exec /usr/sbin/sshd -D -e -f "$0"', str(cfg)],
        stdout=log, stderr=log, start_new_session=True)
    log.close()


def _wait_port(address: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"sshd on {address}:{port} did not start")
