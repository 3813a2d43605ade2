#!/usr/bin/env python3
"""seccomp_exec.py SYSCALL[,SYSCALL...] -- COMMAND [ARG...]

Runs COMMAND with a seccomp filter that makes the named system calls fail
with EPERM, as systemd does for a unit's SystemCallFilter= (e.g. the @clock
set that ProtectClock=yes forbids). "-" names none. x86_64 and aarch64.
"""
import ctypes
import os
import platform
import struct
import sys

NR = {
    "x86_64": (0xC000003E, {"adjtimex": 159, "clock_adjtime": 305, "settimeofday": 164,
                            "clock_settime": 227}),
    "aarch64": (0xC00000B7, {"adjtimex": 171, "clock_adjtime": 266, "settimeofday": 170,
                             "clock_settime": 112}),
}
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
RET_ALLOW, RET_ERRNO, EPERM = 0x7FFF0000, 0x00050000, 1
LD_W_ABS, JEQ_K, RET_K = 0x20, 0x15, 0x06


def insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    arch, table = NR[platform.machine()]
    names = [] if sys.argv[1] == "-" else sys.argv[1].split(",")
    prog = [insn(LD_W_ABS, 0, 0, 4), insn(JEQ_K, 1, 0, arch), insn(RET_K, 0, 0, RET_ALLOW),
            insn(LD_W_ABS, 0, 0, 0)]
    for n in names:
        prog += [insn(JEQ_K, 0, 1, table[n]), insn(RET_K, 0, 0, RET_ERRNO | EPERM)]
    prog.append(insn(RET_K, 0, 0, RET_ALLOW))
    code = b"".join(prog)
    buf = ctypes.create_string_buffer(code, len(code))

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fp = Fprog(len(prog), ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fp), 0, 0) != 0:
        sys.exit("seccomp: " + os.strerror(ctypes.get_errno()))
    os.execvp(sys.argv[3], sys.argv[3:])


main()
