# Cross-compiling for aarch64 Linux with Debian's gcc-aarch64-linux-gnu;
# tests run under qemu-aarch64-static through CMAKE_CROSSCOMPILING_EMULATOR.
# SLEEF comes from libsleef-dev:arm64 (dpkg --add-architecture arm64).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
# The dynamic loader and libc under qemu must come from ONE glibc build.
# libsleef-dev:arm64 brings the multiarch libc6:arm64 (/lib/aarch64-linux-gnu),
# often a newer Debian revision than the cross toolchain's copy in
# /usr/aarch64-linux-gnu/lib; the cross loader would then find the multiarch
# libc.so.6 first, and that mismatched pair hangs in the first
# pthread_create (seen with 2.36-8cross1 against 2.36-9+deb12u14). So the
# guest's LD_LIBRARY_PATH puts the cross toolchain's libc, libm, libstdc++
# first; SLEEF still resolves from /usr/lib/aarch64-linux-gnu.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L /usr/aarch64-linux-gnu
    -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib)
