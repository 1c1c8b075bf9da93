"""Running build steps: the OCI runtime (runc) and user-mode emulation of foreign CPUs (qemu).

A RUN step for a foreign architecture is an ordinary runc container whose binaries the
kernel hands to qemu-user through binfmt_misc; the F flag makes that work inside the
container's mount namespace, where the interpreter path does not exist.
"""
