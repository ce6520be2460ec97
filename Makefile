# SPDX-License-Identifier: GPL-2.0
#
# make            build kmod/ipsecnat.ko, userspace/ipsecnat, userspace/libxt_IPSECNAT.so
# make deps       install the Debian packages needed (scripts/setup);
#                 KERNELS=6.12 adds Debian 12's linux-6.12 to test against,
#                 KERNELS=sid a sid root (build/sid) with sid's newest headers
# make check      boot the Debian kernel under QEMU and run selftests/*.sh
# make check T=x  run only selftests/x.sh (T=x,y,z: several)
# make check KVER=<release>  the same on another installed kernel
# make demo       boot the VM and show the problem and the fix
# make vm         interactive guest shell with the module loaded
# make bench      benchmark (bench/results/)
# make lint       checkpatch + sparse
# make dkms-check build the module through DKMS, as distributions do
# make sid-build  build the module in build/sid against sid's newest kernel
# make install    the tool, the iptables extension, man pages, bash completion
#                 (DESTDIR, PREFIX=/usr/local, XTLIBDIR: see userspace/Makefile);
#                 the module: DKMS (README)
# make uninstall  what make install installed (same variables)
#
# The version is in VERSION (dkms.conf and MODULE_VERSION must agree: dkms-check)

ifeq ($(origin KDIR),undefined)
KVER ?= $(shell scripts/kver)
KDIR := /lib/modules/$(KVER)/build
else
KVER ?= $(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h)
endif
export KVER

all: module userspace

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace:
	$(MAKE) -C userspace
	$(MAKE) -C bench

deps:
	scripts/setup

check: all lint dkms-check
	scripts/vm check $(T)

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
	scripts/sid-build

install uninstall:
	$(MAKE) -C userspace $@

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean
	$(MAKE) -C bench clean
	# keeps build/libreswan and build/sid, which make deps made
	find build -mindepth 1 -maxdepth 1 ! -name libreswan ! -name sid -exec rm -rf {} + 2>/dev/null || true

.PHONY: all module userspace deps check demo vm bench lint dkms-check sid-build install uninstall clean
