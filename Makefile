# SPDX-License-Identifier: GPL-2.0
#
# make            build kmod/ipsecnat.ko, userspace/ipsecnat, userspace/libxt_IPSECNAT.so
# make deps       install the Debian packages needed (scripts/setup);
#                 KERNELS=6.12 adds Debian 12's linux-6.12 to test against,
#                 KERNELS=sid a sid root (build/sid) with sid's newest headers
# make check      boot the Debian kernel under QEMU and run selftests/*.sh
# make check T=x  run only selftests/x.sh (T=x,y,z: several)
# make check KVER=<release>  the same on another installed kernel
# make check KERNEL=sid       the same on sid's newest kernel, module built in
#                 build/sid (make deps KERNELS=sid first; KVER=<its release>
#                 picks it too); no lint or DKMS run: those are the host's
# make check KERNEL=debug     the same on a KASAN/kmemleak/lockdep/UBSAN kernel
#                 built once from linux-source-6.1 (scripts/debug-kernel;
#                 make deps KERNELS=debug first)
# make check-debug            the sanitizer subset (DEBUG_T) on that kernel
# make demo       boot the VM and show the problem and the fix
# make vm         interactive guest shell with the module loaded
# make bench      benchmark (bench/results/)
# make lint       checkpatch + sparse; the netlink spec (scripts/check-spec)
# make dkms-check build the module through DKMS, as distributions do
# make sid-build  build the module in build/sid against sid's newest kernel
# make install    the tool, the iptables extension, man pages, bash completion,
#                 ipsecnat.service, the modprobe.d example (DESTDIR,
#                 PREFIX=/usr/local, XTLIBDIR, SYSTEMDUNITDIR: see userspace/Makefile);
#                 the module: DKMS (README)
# make uninstall  what make install installed (same variables)
#
# The version is in VERSION (dkms.conf and MODULE_VERSION must agree: dkms-check)

SID_ROOT := $(CURDIR)/build/sid
# KVER=<release> of a kernel that only the sid root has means KERNEL=sid
ifeq ($(KERNEL)$(origin KDIR),undefined)
ifneq ($(KVER),)
ifeq ($(wildcard /lib/modules/$(KVER)/build),)
ifneq ($(wildcard $(SID_ROOT)/usr/src/linux-headers-$(KVER)),)
KERNEL := sid
endif
endif
endif
endif

ifeq ($(KERNEL),debug)
# builds the kernel the first time (about 20 minutes), then only prints it
KVER := $(shell scripts/debug-kernel)
ifeq ($(KVER),)
$(error the debug kernel did not build: see the message above)
endif
DEBUG_DIR := $(shell scripts/debug-kernel --dir)
KDIR := $(DEBUG_DIR)/src
export VM_KERNEL := $(KDIR)/arch/x86/boot/bzImage
export VM_MODROOT := $(DEBUG_DIR)/root
# DKMS builds against /lib/modules/KVER/build: the stock kernels' check
CHECK_DEPS := all lint
else ifeq ($(KERNEL),sid)
# sid's kernel, from the sid root (make deps KERNELS=sid): the module is built
# there with sid's gcc (scripts/sid-build), the VM boots the root's vmlinuz
# and mounts its modules
KVER ?= $(shell ls -d $(SID_ROOT)/usr/src/linux-headers-*-amd64 2>/dev/null | sed 's,.*/linux-headers-,,' | sort -V | tail -n 1)
ifeq ($(KVER),)
$(error no sid root with kernel headers in $(SID_ROOT): make deps KERNELS=sid)
endif
KDIR := $(SID_ROOT)/usr/src/linux-headers-$(KVER)
SID_BUILD_ARG := $(KVER)
export VM_KERNEL := $(SID_ROOT)/usr/lib/modules/$(KVER)/vmlinuz
export VM_MODROOT := $(SID_ROOT)
export VM_MODULE := $(SID_ROOT)/build/ipsecnat/kmod/ipsecnat.ko
# host's gcc and sparse cannot read sid's headers: lint and DKMS are the
# host kernel's check
CHECK_DEPS := all
else ifeq ($(origin KDIR),undefined)
KVER ?= $(shell scripts/kver)
KDIR := /lib/modules/$(KVER)/build
else
KVER ?= $(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h)
endif
export KVER
CHECK_DEPS ?= all lint dkms-check

all: module userspace

ifeq ($(KERNEL),sid)
module: sid-build
else
module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
endif

userspace:
	$(MAKE) -C userspace
	$(MAKE) -C bench

deps:
	scripts/setup

check: $(CHECK_DEPS)
	scripts/vm check $(T)

# stress, faults, fuzzing and the main paths: about 20 minutes under TCG
DEBUG_T ?= module_load,esp_two_hosts,fault_alloc,stress_control,fuzz_wan,tool_ipsecnat,esp_malformed,esp_memcg,ike_flowtable
check-debug:
	$(MAKE) check KERNEL=debug T=$(DEBUG_T)

demo: all
	scripts/vm demo

vm: all
	scripts/vm shell

bench: all
	scripts/vm bench

lint:
	KDIR=$(KDIR) scripts/lint

dkms-check:
	scripts/dkms-check

sid-build:
	scripts/sid-build $(SID_BUILD_ARG)

install uninstall:
	$(MAKE) -C userspace $@

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean
	$(MAKE) -C bench clean
	# keeps build/libreswan, build/sid and build/ynl, which make deps made
	find build -mindepth 1 -maxdepth 1 ! -name libreswan ! -name sid ! -name ynl -exec rm -rf {} + 2>/dev/null || true

.PHONY: all module userspace deps check check-debug demo vm bench lint dkms-check sid-build install uninstall clean
