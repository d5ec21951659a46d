# dvipa — build, test, demo, install.  See README.md.
#
# Every folder is a layer (see docs/design.md); new .c files are picked up by
# the wildcards below, so adding a file never means editing this one.

PREFIX  ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
# dvipad reads /etc/dvipa/dvipa.conf by default, whatever the PREFIX.
SYSCONFDIR     ?= /etc
SYSTEMDUNITDIR ?= /lib/systemd/system
CC      ?= cc
CLANG   ?= clang
B       := build

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += -D_GNU_SOURCE -I.
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -fno-strict-aliasing
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

DAEMON_LIBS := -lcpg -lquorum -lvotequorum -lcmap -lmnl

CORE_SRC   := $(sort $(wildcard core/*.c))
DAEMON_SRC := $(sort $(filter-out %.bpf.c,$(wildcard fabric/*.c net/*.c dataplane/*.c daemon/*.c)))
CTL_SRC    := $(sort $(wildcard ctl/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/*.c))
FUZZ_SRC   := $(sort $(wildcard fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(B)/$(1)/%.o,$(2))

# The release, in one place: the VERSION file (a tarball has it), else what
# git describes. Only core/version.c is built with it; the stamp changes (and
# rebuilds that one object) only when the version does.
VERSION := $(shell cat VERSION 2>/dev/null || git describe --tags --always --dirty 2>/dev/null || echo unknown)

.PHONY: all check unit unit-san fuzz fuzz-quick integration demo demo-stop install lint format deps clean bench tools deb FORCE

all: $(B)/dvipad $(B)/dvipactl

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(SANFLAGS) -MMD -MP -c $< -o $@

$(B)/version.stamp: FORCE
	@mkdir -p $(B)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@

$(B)/obj/core/version.o $(B)/san/core/version.o: $(B)/version.stamp
$(B)/obj/core/version.o $(B)/san/core/version.o: CPPFLAGS += -DDVIPA_VERSION='"$(VERSION)"'

$(B)/libcore.a: $(call obj,obj,$(CORE_SRC))
	@rm -f $@
	ar rcs $@ $^

$(B)/libcore-san.a: $(call obj,san,$(CORE_SRC))
	@rm -f $@
	ar rcs $@ $^

$(B)/dvipad: $(call obj,obj,$(DAEMON_SRC)) $(B)/libcore.a
	$(CC) $(CFLAGS) -o $@ $^ $(DAEMON_LIBS)

$(B)/dvipactl: $(call obj,obj,$(CTL_SRC)) $(B)/libcore.a
	$(CC) $(CFLAGS) -o $@ $^

$(B)/unit-tests: $(call obj,obj,$(UNIT_SRC)) $(B)/libcore.a
	$(CC) $(CFLAGS) -o $@ $^ -lm -lmnl

$(B)/unit-tests-san: $(call obj,san,$(UNIT_SRC)) $(B)/libcore-san.a
	$(CC) $(SANFLAGS) -o $@ $^ -lm -lmnl

# Small C programs that integration tests drive: one per tests/tools/*.c,
# linked with the layers and core (rule below, with the data plane's).
TOOL_BINS := $(patsubst tests/tools/%.c,$(B)/tools/%,$(sort $(wildcard tests/tools/*.c)))

tools: $(TOOL_BINS)

# libFuzzer targets: one binary per fuzz/fuzz_*.c, linked with all of core.
$(B)/fuzz/%: fuzz/%.c $(CORE_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) $(CPPFLAGS) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $^

FUZZ_BINS := $(patsubst fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 600

deps:
	@scripts/deps.sh

unit: $(B)/unit-tests
	$(B)/unit-tests

unit-san: $(B)/unit-tests-san
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(B)/unit-tests-san

# Short fuzz runs for `make check`, long ones for `make fuzz`.
fuzz-quick: $(FUZZ_BINS)
	@scripts/fuzz.sh 20 $(FUZZ_BINS)

fuzz: deps $(FUZZ_BINS)
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)
	DVIPA_LONG=1 $(MAKE) unit

integration: all tools
	prove -v tests/integration/*.t

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) unit-san
	$(MAKE) fuzz-quick
	$(MAKE) integration

demo: deps all
	@scripts/demo.sh start

demo-stop:
	@scripts/demo.sh stop

bench: deps all
	@for b in bench/*; do [ -x "$$b" ] && "$$b"; done; true

# The programs, the systemd unit (its paths follow SBINDIR and SYSCONFDIR),
# the man pages and a sample profile, which never replaces one already there.
install: all
	install -d $(DESTDIR)$(SBINDIR)
	install -m 0755 $(B)/dvipad $(B)/dvipactl $(DESTDIR)$(SBINDIR)/
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 docs/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		packaging/dvipad.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/dvipad.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/dvipad.service
	install -d $(DESTDIR)$(SYSCONFDIR)/dvipa
	[ -e $(DESTDIR)$(SYSCONFDIR)/dvipa/dvipa.conf ] || \
		install -m 0644 docs/sample.conf $(DESTDIR)$(SYSCONFDIR)/dvipa/dvipa.conf

# A Debian package of this build, in build/: see scripts/deb.sh.
deb: all
	scripts/deb.sh '$(VERSION)' $(B)

LINT_SRC = $(CORE_SRC) $(DAEMON_SRC) $(CTL_SRC) $(UNIT_SRC) $(FUZZ_SRC) $(wildcard */*.h tests/unit/*.h)

TIDY_SKEL_SRC = dataplane/dataplane.c dataplane/sockcount.c
TIDY_SRC = $(filter-out $(TIDY_SKEL_SRC),$(filter %.c,$(LINT_SRC)))

lint: $(BPF_SKEL)
	clang-format --dry-run --Werror $(LINT_SRC)
	clang-tidy --quiet $(TIDY_SRC) -- $(CPPFLAGS) -std=gnu11
	@# The skeleton that bpftool generates leaks on an error path of its own.
	clang-tidy --quiet --checks=-clang-analyzer-unix.Malloc $(TIDY_SKEL_SRC) -- $(CPPFLAGS) -std=gnu11
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem -I. $(filter %.c,$(LINT_SRC))

format:
	clang-format -i $(LINT_SRC)

clean:
	rm -rf $(B)

# ---- BPF data plane (dataplane/) ---------------------------------------------
# dataplane/*.bpf.c are built with clang -target bpf against a vmlinux.h dumped
# from the running kernel's BTF; bpftool turns each object into a skeleton
# header (build/bpf/NAME.skel.h) that the loader includes. Test binaries:
# build/bpf-tests (BPF_PROG_TEST_RUN fixtures) and build/tools/* (from
# tests/tools/*.c, linked with core and the layers).
BPFTOOL   ?= bpftool
BPF_SRC   := $(sort $(wildcard dataplane/*.bpf.c))
BPF_OBJ   := $(patsubst dataplane/%.bpf.c,$(B)/bpf/%.bpf.o,$(BPF_SRC))
BPF_SKEL  := $(patsubst dataplane/%.bpf.c,$(B)/bpf/%.skel.h,$(BPF_SRC))
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror -I$(B)/bpf -I.
BPF_LIBS  := -lbpf -lelf -lz
DAEMON_LIBS += $(BPF_LIBS)
CPPFLAGS  += -I$(B)/bpf
LAYER_SRC := $(filter-out daemon/%,$(DAEMON_SRC))
BPF_TEST_SRC := $(sort $(wildcard tests/bpf/*.c))

define bpf_need
	@command -v $(1) >/dev/null 2>&1 || { echo "error: building the BPF data plane needs '$(1)' (Debian package: $(2)); run 'make deps'" >&2; exit 1; }
endef

$(B)/bpf/vmlinux.h:
	$(call bpf_need,$(BPFTOOL),bpftool)
	@test -r /sys/kernel/btf/vmlinux || { echo "error: the BPF data plane needs a kernel with BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF=y)" >&2; exit 1; }
	@test -r /usr/include/bpf/bpf_helpers.h || { echo "error: the BPF data plane needs libbpf's headers (Debian package: libbpf-dev); run 'make deps'" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp
	@mv $@.tmp $@

$(B)/bpf/%.bpf.o: dataplane/%.bpf.c $(B)/bpf/vmlinux.h $(wildcard dataplane/*.h)
	$(call bpf_need,$(CLANG),clang)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	@# DWARF is for humans; the loader needs only BTF.
	@if command -v llvm-strip >/dev/null 2>&1; then llvm-strip -g $@; fi

$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp
	@mv $@.tmp $@

$(call obj,obj,$(filter dataplane/%,$(DAEMON_SRC))): $(BPF_SKEL)
.SECONDARY: $(BPF_OBJ)

$(B)/liblayers.a: $(call obj,obj,$(LAYER_SRC))
	@rm -f $@
	ar rcs $@ $^

$(B)/bpf-tests: $(call obj,obj,$(BPF_TEST_SRC)) $(B)/liblayers.a $(B)/libcore.a
	$(CC) $(CFLAGS) -o $@ $^ $(DAEMON_LIBS)

$(B)/tools/%: $(B)/obj/tests/tools/%.o $(B)/liblayers.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(DAEMON_LIBS)

.SECONDARY: $(patsubst %.c,$(B)/obj/%.o,$(wildcard tests/tools/*.c))
integration: $(B)/bpf-tests
# ---- end of BPF data plane ---------------------------------------------------

-include $(shell find $(B) -name '*.d' 2>/dev/null)
