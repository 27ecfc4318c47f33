# book/book.mk - `make book`: HTML, PDF and EPUB from the chapters' sources,
# their programs' real output and diagrams/.  Included by the top Makefile;
# it also runs alone (make -f book/book.mk book-html), as tests/book.bats
# does on a small fixture.  book/README.md explains the syntax and the stages.
#
# Stages (book/filter/ipclab.lua does the work of each):
#   1. each part -> $(BOOK_DIR)/parts/NAME.json: runs its programs, includes
#      its sources, draws its plots.  A part is book/preface.md, every
#      book/NN-topic.md whose chapters/NN-topic exists, book/appendix-*.md.
#      Redone only when its Markdown, a file it includes, its chapter's
#      programs, the filter or the machine (kernel, compiler) change: the
#      filter writes a depfile of what it read.
#   2. the parts -> $(BOOK_DIR)/book.json (references across parts).
#   3. book.json -> ipclab.html, .epub, .pdf; diagrams rendered per format
#      into $(BOOK_DIR)/diagrams/, named by a hash of their content.

# This file's directory: the filter, styles and scripts live next to it.
BOOK_TOOLS := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

BUILD     ?= build
BOOK_DIR  := $(BUILD)/book
BOOK_TEXT ?= book
PANDOC    ?= pandoc
CC        ?= cc
BOOK_FILTER := $(BOOK_TOOLS)/filter/ipclab.lua

# The parts, in order.  A chapter is in the book when both its Markdown and
# its chapters/ directory exist: nothing is listed by hand.
BOOK_CHAPTER_TEXTS := $(foreach f,$(sort $(wildcard $(BOOK_TEXT)/[0-9][0-9]-*.md)),\
                        $(if $(wildcard chapters/$(basename $(notdir $f))/.),$f))
BOOK_TEXTS := $(wildcard $(BOOK_TEXT)/preface.md) $(BOOK_CHAPTER_TEXTS) \
              $(sort $(wildcard $(BOOK_TEXT)/appendix-*.md))
BOOK_PARTS := $(patsubst $(BOOK_TEXT)/%.md,$(BOOK_DIR)/parts/%.json,$(BOOK_TEXTS))
BOOK_OUTPUTS := $(addprefix $(BOOK_DIR)/ipclab.,html pdf epub)

# What the parts read (BOOK_DIAGRAMS collects the diagrams they show).
BOOK_DIAGRAMS :=
-include $(BOOK_PARTS:.json=.d)

# Every part runs programs in this environment; the filter adds the
# chapter's build directory to PATH and a fresh TMPDIR.
BOOK_ENV = LC_ALL=C.UTF-8 IPCLAB_BUILD='$(BUILD)' IPCLAB_BOOK_DIR='$(BOOK_DIR)' IPCLAB_CC='$(CC)' \
           SOURCE_DATE_EPOCH=$(or $(BOOK_EPOCH),0)
BOOK_EPOCH = $(shell git log -1 --format=%ct 2>/dev/null)
BOOK_PANDOC = $(BOOK_ENV) $(PANDOC) --lua-filter=$(BOOK_FILTER)

##book: install what is missing, build the programs and write build/book/ipclab.html, .pdf, .epub
book:
	@scripts/deps.sh book
	@$(MAKE) --no-print-directory book-all

# Every program, not only those the book runs: the preface tells the reader
# to run any of them from build/.
book-all: $(PROGRAMS) $(BOOK_OUTPUTS)
	@for dir in chapters/[0-9][0-9]-*/; do \
	    name=$${dir#chapters/}; name=$${name%/}; \
	    [ -f $(BOOK_TEXT)/$$name.md ] || echo "book: note: chapters/$$name has no $(BOOK_TEXT)/$$name.md, so it is not in the book"; \
	done
	@ls -l $(BOOK_OUTPUTS) | awk '{ print "book: " $$NF " (" $$5 " bytes)" }'

##book-html: only the HTML book (no TeX needed: quick while writing a chapter)
book-html: $(BOOK_DIR)/ipclab.html

##book-instructor: the HTML book with the exercises' hints collected in an appendix
book-instructor: $(BOOK_DIR)/ipclab-instructor.html

# --- stage 1: one part ---------------------------------------------------------
# A chapter's part also depends on that chapter's programs.
$(foreach t,$(BOOK_CHAPTER_TEXTS),$(eval \
  $(BOOK_DIR)/parts/$(basename $(notdir $t)).json: $(filter $(BUILD)/chapters/$(basename $(notdir $t))/%,$(PROGRAMS))))

# Chapter 08 shows ThreadSanitizer's real report: its part also needs
# thread_counter built with -fsanitize=thread (as `make tsan` builds it, in
# $(BUILD)/tsan; a few seconds), on the part's PATH as thread_counter_tsan.
ifneq ($(filter %/08-pthreads.md,$(BOOK_CHAPTER_TEXTS)),)
BOOK_TSAN := $(BUILD)/chapters/08-pthreads/thread_counter_tsan
$(BOOK_DIR)/parts/08-pthreads.json: $(BOOK_TSAN)
$(BOOK_TSAN): chapters/08-pthreads/thread_counter.c $(wildcard lib/*.c lib/*.h)
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan SANITIZE=thread $(BUILD)/tsan/chapters/08-pthreads/thread_counter
	@mkdir -p $(@D)
	@cp $(BUILD)/tsan/chapters/08-pthreads/thread_counter $@
endif

$(BOOK_DIR)/parts/%.json: $(BOOK_TEXT)/%.md $(BOOK_FILTER) $(BOOK_DIR)/environment.txt
	@mkdir -p $(@D)
	@echo "book: $<"
	@IPCLAB_BOOK_STAGE=part IPCLAB_BOOK_DEPFILE='$(@:.json=.d)' IPCLAB_BOOK_TARGET='$@' \
	    $(BOOK_PANDOC) -f markdown -t json -o $@ $<

# Where the outputs are produced.  Rewritten only when it changes (a new
# kernel or compiler), so then, and only then, every part is redone.
$(BOOK_DIR)/environment.txt: book-always
	@mkdir -p $(@D)
	@{ uname -srm; $(CC) --version 2>&1 | head -n 1; } > $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi

# Which sources the book is built from, for its title page: the commit's
# date (ISO), the commit, and "+ uncommitted changes" when the tree differs.
$(BOOK_DIR)/version.txt: book-always
	@mkdir -p $(@D)
	@{ git log -1 --format='%cs commit %h' 2>/dev/null || echo 'unknown not from a git tree'; } | \
	    tr -d '\n' > $@.new
	@git diff --quiet HEAD -- 2>/dev/null || printf ' + uncommitted changes' >> $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi

# The list of parts: adding or removing a chapter rebuilds the book.
$(BOOK_DIR)/parts.list: book-always
	@mkdir -p $(@D)
	@echo '$(BOOK_PARTS)' > $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi

# --- stage 2: the book ---------------------------------------------------------------
BOOK_ASSEMBLE_DEPS := $(BOOK_PARTS) $(BOOK_DIR)/parts.list $(BOOK_FILTER) $(BOOK_TOOLS)/metadata.yaml \
                      $(BOOK_DIR)/version.txt
BOOK_ASSEMBLE = IPCLAB_BOOK_STAGE=assemble IPCLAB_BOOK_PARTS='$(BOOK_PARTS)' \
    IPCLAB_BOOK_VERSION="$$(cat $(BOOK_DIR)/version.txt)" \
    $(BOOK_PANDOC) -f markdown -t json --metadata-file=$(BOOK_TOOLS)/metadata.yaml

$(BOOK_DIR)/book.json: $(BOOK_ASSEMBLE_DEPS)
	@echo "book: assembling $(words $(BOOK_PARTS)) parts"
	@$(BOOK_ASSEMBLE) -o $@ /dev/null

# The instructor's edition: the same parts, the hints kept in an appendix.
$(BOOK_DIR)/book-instructor.json: $(BOOK_ASSEMBLE_DEPS)
	@echo "book: assembling $(words $(BOOK_PARTS)) parts, with the hints"
	@IPCLAB_BOOK_EDITION=instructor $(BOOK_ASSEMBLE) -o $@ /dev/null

# --- stage 3: the formats --------------------------------------------------------------
BOOK_FORMAT_DEPS := $(BOOK_DIR)/book.json $(BOOK_FILTER) $(BOOK_DIAGRAMS)
BOOK_OUTPUT = IPCLAB_BOOK_STAGE=output $(BOOK_PANDOC) -f json --toc --toc-depth=2

$(BOOK_DIR)/ipclab.html: $(BOOK_FORMAT_DEPS) $(BOOK_TOOLS)/style.css
	@echo "book: $@"
	@$(BOOK_OUTPUT) -t html5 -s --self-contained --wrap=none --css=$(BOOK_TOOLS)/style.css -o $@.tmp $<
	@mv -f $@.tmp $@

$(BOOK_DIR)/ipclab-instructor.html: $(BOOK_DIR)/book-instructor.json $(BOOK_FILTER) $(BOOK_DIAGRAMS) \
                                    $(BOOK_TOOLS)/style.css
	@echo "book: $@"
	@$(BOOK_OUTPUT) -t html5 -s --self-contained --wrap=none --css=$(BOOK_TOOLS)/style.css -o $@.tmp $<
	@mv -f $@.tmp $@

# An EPUB or PDF is made again only when what goes into it changed: a
# checksum of its inputs is kept next to it (book.json is the same when a
# rebuilt part came out the same, e.g. after touching a source whose
# listing and output did not change).  So epubcheck runs only on a new EPUB.
BOOK_SUM = cat $^ $(BOOK_DIR)/plots/* 2>/dev/null | cksum

# epubcheck validates every EPUB before it is kept.  Called through java:
# /usr/bin/epubcheck is a jar that runs directly only where binfmt is set up.
# The quick JIT tier and the serial collector cut its run from ~14 s to ~5 s
# on a busy 2-CPU machine: it is short-lived and single-threaded.
EPUBCHECK = java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar /usr/share/java/epubcheck.jar

$(BOOK_DIR)/ipclab.epub: $(BOOK_FORMAT_DEPS) $(BOOK_TOOLS)/epub.css
	@sum=$$($(BOOK_SUM)); \
	if [ -f $@ ] && [ "$$sum" = "$$(cat $@.sum 2>/dev/null)" ]; then \
	    echo "book: $@ unchanged (epubcheck not needed)"; touch $@; exit 0; fi; \
	echo "book: $@"; \
	$(BOOK_OUTPUT) -t epub3 --epub-chapter-level=1 --css=$(BOOK_TOOLS)/epub.css -o $@.tmp.epub $< && \
	{ $(EPUBCHECK) --quiet $@.tmp.epub || \
	    { echo "book: epubcheck rejects $@ (kept as $@.tmp.epub)" >&2; exit 1; }; } && \
	mv -f $@.tmp.epub $@ && echo "$$sum" > $@.sum

# pandoc writes the LaTeX; book/pdf.sh runs pdflatex until the references
# settle and names any error, overfull line or missing character.
$(BOOK_DIR)/ipclab.pdf: $(BOOK_FORMAT_DEPS) $(BOOK_TOOLS)/latex-header.tex $(BOOK_TOOLS)/pdf.sh
	@sum=$$($(BOOK_SUM)); \
	if [ -f $@ ] && [ "$$sum" = "$$(cat $@.sum 2>/dev/null)" ]; then \
	    echo "book: $@ unchanged"; touch $@; exit 0; fi; \
	echo "book: $@"; \
	mkdir -p $(BOOK_DIR)/latex && \
	$(BOOK_OUTPUT) -t latex -s --top-level-division=chapter -H $(BOOK_TOOLS)/latex-header.tex \
	    -V documentclass=report -V fontsize=10pt -V geometry:a4paper,margin=22mm \
	    -V colorlinks=true -o $(BOOK_DIR)/latex/ipclab.tex $< && \
	$(BOOK_ENV) $(BOOK_TOOLS)/pdf.sh $(BOOK_DIR)/latex/ipclab.tex $@ && echo "$$sum" > $@.sum

book-always:

.PHONY: book book-all book-html book-instructor book-always
