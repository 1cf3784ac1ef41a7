"""A seccomp filter for the sandbox, as the classic-BPF program `bwrap --seccomp FD` loads.

Learner code needs ordinary system calls (files, threads, fork for subprocess, mmap, ioctl on
GPU devices) and nothing that changes what the process can see or reach. The filter refuses,
with EPERM, every call that makes or enters namespaces, mounts, traces or reads other
processes, loads kernel code or keys, or injects terminal input; a clone with any CLONE_NEW*
flag; and clone3 with ENOSYS (its flags sit in memory a filter cannot read, so glibc falls
back to clone, whose flags it can: the choice Flatpak and Docker made). A call from another
architecture than the interpreter's (32-bit or x32 entry points) kills the process: the
numbers below would mean other calls there.

The program is built here, instruction by instruction (struct sock_filter, 8 bytes each), so
no compiler or libseccomp is needed; tests/test_sandbox.py runs it inside the sandbox.
"""

from __future__ import annotations

import errno
import platform
import struct

# <linux/filter.h>, <linux/seccomp.h>, <linux/audit.h>
BPF_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
BPF_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
BPF_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
BPF_RET_K = 0x06  # BPF_RET | BPF_K
RET_KILL_PROCESS = 0x80000000
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
OFF_NR, OFF_ARCH = 0, 4


def OFF_ARG(i: int) -> int:
    return 16 + 8 * i  # the low 32 bits of argument i (little-endian on both arches)


AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000

# Refused outright (EPERM). Numbers per architecture; None where the call does not exist.
DENIED = {  # name: (x86_64, aarch64)
    "setns": (308, 268), "unshare": (272, 97),
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51),
    "fsopen": (430, 430), "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433),
    "move_mount": (429, 429), "open_tree": (428, 428), "mount_setattr": (442, 442),
    "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264),
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "pidfd_getfd": (438, 438), "kcmp": (312, 272),
    "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),
    "bpf": (321, 280), "perf_event_open": (298, 241), "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294),
    "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "acct": (163, 89), "swapon": (167, 224), "swapoff": (168, 225), "reboot": (169, 142),
    "quotactl": (179, 60), "syslog": (103, 116), "lookup_dcookie": (212, 18),
    "iopl": (172, None), "ioperm": (173, None), "uselib": (134, None),
}
CLONE, CLONE3, IOCTL, PERSONALITY = {"x86_64": 56, "aarch64": 220}, 435, {"x86_64": 16, "aarch64": 29}, {"x86_64": 135, "aarch64": 92}
# CLONE_NEWTIME | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
CLONE_NEW_FLAGS = 0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
TIOCSTI, TIOCLINUX = 0x5412, 0x541C
# personality(2) values that do not weaken anything (Docker's list): query, PER_LINUX, UNAME26, PER_LINUX32
PERSONALITY_OK = (0x0, 0x0008, 0x20000, 0x20008, 0xFFFFFFFF)


class SeccompUnsupported(Exception):
    pass


def machine() -> str:
    arch = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)


class _Program:
    """A tiny assembler: forward jumps to labels, resolved when the program is packed."""

    def __init__(self):
        self.ins: list[tuple[int, object, object, int]] = []
        self.labels: dict[str, int] = {}

    def op(self, code: int, k: int, jt: object = 0, jf: object = 0) -> None:
        self.ins.append((code, jt, jf, k))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.ins)

    def pack(self) -> bytes:
        out = []
        for i, (code, jt, jf, k) in enumerate(self.ins):
            offsets = []
            for target in (jt, jf):
                if isinstance(target, str):
                    target = self.labels[target] - i - 1
                if not 0 <= target <= 255:
                    raise ValueError(f"jump out of range at instruction {i}")
                offsets.append(target)
            out.append(struct.pack("=HBBI", code, offsets[0], offsets[1], k & 0xFFFFFFFF))
        return b"".join(out)


def build(arch: str | None = None) -> bytes:
    """The filter for `arch` (default: this machine's) as bytes for `bwrap --seccomp`."""
    arch = arch or machine()
    if arch not in AUDIT_ARCH:
        raise SeccompUnsupported(f"no seccomp filter for the {arch} architecture (only x86_64 and aarch64)")
    col = 0 if arch == "x86_64" else 1
    p = _Program()
    p.op(BPF_LD_W_ABS, OFF_ARCH)
    p.op(BPF_JEQ_K, AUDIT_ARCH[arch], 0, "kill")
    p.op(BPF_LD_W_ABS, OFF_NR)
    if arch == "x86_64":
        p.op(BPF_JGE_K, X32_SYSCALL_BIT, "kill", 0)
    for nrs in DENIED.values():
        if nrs[col] is not None:
            p.op(BPF_JEQ_K, nrs[col], "eperm", 0)
    p.op(BPF_JEQ_K, CLONE3, "enosys", 0)
    p.op(BPF_JEQ_K, CLONE[arch], "clone", 0)
    p.op(BPF_JEQ_K, IOCTL[arch], "ioctl", 0)
    p.op(BPF_JEQ_K, PERSONALITY[arch], "personality", 0)
    p.op(BPF_RET_K, RET_ALLOW)
    p.label("clone")  # clone(flags, ...): flags is the first argument on both arches
    p.op(BPF_LD_W_ABS, OFF_ARG(0))
    p.op(BPF_JSET_K, CLONE_NEW_FLAGS, "eperm", 0)
    p.op(BPF_RET_K, RET_ALLOW)
    p.label("ioctl")  # ioctl(fd, request, ...): the kernel reads request as 32 bits
    p.op(BPF_LD_W_ABS, OFF_ARG(1))
    p.op(BPF_JEQ_K, TIOCSTI, "eperm", 0)
    p.op(BPF_JEQ_K, TIOCLINUX, "eperm", 0)
    p.op(BPF_RET_K, RET_ALLOW)
    p.label("personality")
    p.op(BPF_LD_W_ABS, OFF_ARG(0))
    for value in PERSONALITY_OK:
        p.op(BPF_JEQ_K, value, "allow", 0)
    p.op(BPF_RET_K, RET_ERRNO | errno.EPERM)
    p.label("allow")
    p.op(BPF_RET_K, RET_ALLOW)
    p.label("eperm")
    p.op(BPF_RET_K, RET_ERRNO | errno.EPERM)
    p.label("enosys")
    p.op(BPF_RET_K, RET_ERRNO | errno.ENOSYS)
    p.label("kill")
    p.op(BPF_RET_K, RET_KILL_PROCESS)
    return p.pack()


def evaluate(program: bytes, arch: str, nr: int, args: tuple[int, ...] = ()) -> int:
    """Run `program` on one system call, as the kernel would: returns the SECCOMP_RET value.
    For the tests: the filter's decisions can be checked for every call without a kernel."""
    ins = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    data = struct.pack("=iI Q", nr, AUDIT_ARCH.get(arch, 0), 0) + b"".join(
        struct.pack("=Q", a & 0xFFFFFFFFFFFFFFFF) for a in (tuple(args) + (0,) * 6)[:6])
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = ins[pc]
        if code == BPF_LD_W_ABS:
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif code in (BPF_JEQ_K, BPF_JGE_K, BPF_JSET_K):
            hit = {BPF_JEQ_K: acc == k, BPF_JGE_K: acc >= k, BPF_JSET_K: bool(acc & k)}[code]
            pc += 1 + (jt if hit else jf)
        elif code == BPF_RET_K:
            return k
        else:
            raise ValueError(f"unknown instruction {code:#x}")
