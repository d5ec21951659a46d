# dvipa — build, test, demo, install.  See README.md.
#
# Every folder is a layer (see docs/design.md); new .c files are picked up by
# the wildcards below, so adding a file never means editing this one.

PREFIX  ?= /usr/local
DESTDIR ?=
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
DAEMON_SRC := $(sort $(wildcard fabric/*.c net/*.c dataplane/*.c daemon/*.c))
CTL_SRC    := $(sort $(wildcard ctl/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/*.c))
FUZZ_SRC   := $(sort $(wildcard fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(B)/$(1)/%.o,$(2))

.PHONY: all check unit unit-san fuzz fuzz-quick integration tools demo demo-stop install lint format deps clean bench

all: $(B)/dvipad $(B)/dvipactl

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(SANFLAGS) -MMD -MP -c $< -o $@

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
	$(CC) $(CFLAGS) -o $@ $^ -lm

$(B)/unit-tests-san: $(call obj,san,$(UNIT_SRC)) $(B)/libcore-san.a
	$(CC) $(SANFLAGS) -o $@ $^ -lm

# libFuzzer targets: one binary per fuzz/fuzz_*.c, linked with all of core.
$(B)/fuzz/%: fuzz/%.c $(CORE_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) $(CPPFLAGS) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $^

FUZZ_BINS := $(patsubst fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 600

# Test tools: one binary per tests/tools/*.c, linked with the daemon's layers
# through an archive (a tool pulls in only what it uses) but never with
# dvipad's main().
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOLS    := $(patsubst tests/tools/%.c,$(B)/tools/%,$(TOOL_SRC))

$(B)/liblayers.a: $(call obj,obj,$(filter-out daemon/main.c,$(DAEMON_SRC)))
	@rm -f $@
	ar rcs $@ $^

$(B)/tools/%: $(B)/obj/tests/tools/%.o $(B)/liblayers.a $(B)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(DAEMON_LIBS)

tools: $(TOOLS)

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

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(B)/dvipad $(B)/dvipactl $(DESTDIR)$(PREFIX)/sbin/
	install -d $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0644 docs/man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 docs/man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/

LINT_SRC = $(CORE_SRC) $(DAEMON_SRC) $(CTL_SRC) $(UNIT_SRC) $(FUZZ_SRC) $(wildcard */*.h tests/unit/*.h)

lint:
	clang-format --dry-run --Werror $(LINT_SRC)
	clang-tidy --quiet $(filter %.c,$(LINT_SRC)) -- $(CPPFLAGS) -std=gnu11
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem -I. $(filter %.c,$(LINT_SRC))

format:
	clang-format -i $(LINT_SRC)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
