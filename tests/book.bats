#!/usr/bin/env bats
# The book's build (book/book.mk, book/filter/ipclab.lua), run on a small
# fixture book in the test's own directory: HTML only, a second or two per
# build.  A build must fail, with a message naming the file and the block,
# when a run exits with the wrong status or takes too long, or an include
# names a missing file or region; a listing must follow its source.  The
# last tests check the real book/: every chapter has its text.

load 'helpers/ipclab'

setup_file() {
    local tool missing=()
    for tool in pandoc dot make; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    if ((${#missing[@]} > 0)); then
        echo "the book tests need ${missing[*]}: run scripts/deps.sh test (make test does)" >&2
        return 1
    fi
}

# A fixture repository: two chapters (01-fix, 02-other), a Markdown file
# for a chapter that does not exist (03-ghost), a C source with regions, a
# diagram, and a "program" (a shell script) in each chapter's build dir.
make_fixture() {
    fixture=$BATS_TEST_TMPDIR/fixture
    mkdir -p "$fixture"/{book,diagrams,chapters/01-fix,chapters/02-other}
    mkdir -p "$fixture"/build/chapters/{01-fix,02-other}
    cd "$fixture"

    cat > chapters/01-fix/hello.c <<'EOF'
/* hello.c - a fixture */
#include <stdio.h>

/* region: main */
int main(void)
{
    puts("hello");
    return 0;
}
/* end region: main */
EOF
    # Writes to stdout and stderr in turn, then exits with status $1.
    cat > build/chapters/01-fix/greet <<'EOF'
#!/bin/sh
echo "out 1"; echo "err 2" >&2; echo "out 3"; exit "${1:-0}"
EOF
    chmod +x build/chapters/01-fix/greet
    printf 'digraph fixture { writer -> reader; }\n' > diagrams/01-fix.dot
    # Ten nodes left to right: about 800 pt wide, shrunk to 470 pt, so its
    # 10 pt labels would print at about 6 pt.
    printf 'digraph wide { rankdir=LR; node [fontsize=10]; a -> b -> c -> d -> e -> f -> g -> h -> i -> j; }\n' \
        > diagrams/01-wide.dot

    # The expected messages name lines of this file.
    cat > book/01-fix.md <<'EOF'
# Fixture

See [@lst:01-main], [@fig:01-pipe], [@lst:02-whole] and [Chapter 2](#ch:02).

## The calls

```{#lst:01-main .include file="chapters/01-fix/hello.c" region="main" caption="The main function"}
```

```{.run}
greet
```

```{.run expect=3}
greet 3
```

![Writer and reader](diagrams/01-fix.dot){#fig:01-pipe}

```{.run}
until [ -e ready ]; do sleep 0.01; touch ready; done
```

## What to remember

- Something.

## Further reading

- Something else.

## Exercises

1. Do this.

::: hint
HINT-FOR-EXERCISE-ONE
:::

2. Do that.
EOF
    printf '/* other.c */\nint other;\n' > chapters/02-other/other.c
    cat > book/02-other.md <<'EOF'
# Other

## The calls

```{#lst:02-whole .include file="chapters/02-other/other.c"}
```

## What to remember

## Further reading

## Exercises
EOF
    printf '# Ghost\n\nNot a chapter.\n' > book/03-ghost.md
}

# build_book: make the fixture's HTML book; sets $status and $output.
build_book() {
    run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
        make --no-print-directory -C "$fixture" -f "$IPCLAB_ROOT/book/book.mk" BUILD=build book-html
}

# build_fails_with [--regexp] MESSAGE: the fixture's build fails, its output
# contains MESSAGE (or matches it), and the HTML book is as it was before
# the build: none after make_fixture, an earlier good build's otherwise.
build_fails_with() {
    local how=--partial book=$fixture/build/book/ipclab.html before=none after=none
    if [[ $1 == --regexp ]]; then
        how=--regexp
        shift
    fi
    if [[ -e $book ]]; then before=$(cksum < "$book"); fi
    build_book
    assert_failure
    assert_output "$how" "$1"
    if [[ -e $book ]]; then after=$(cksum < "$book"); fi
    [[ $after == "$before" ]] || fail "HTML written despite the failure"
}

html() { cat "$fixture/build/book/ipclab.html"; }

# The text of the listing whose id is $1 in the HTML, tags stripped.
listing_text() {
    html | sed -n "/<div id=\"$1\"/,/<\\/code><\\/pre>/p" | sed 's/<[^>]*>//g'
}

@test "book: the fixture builds; listing, runs, diagram, numbers and references are right" {
    make_fixture
    build_book
    assert_success
    [[ -s $fixture/build/book/ipclab.html ]] || fail "no HTML written"

    # The region, with the file's own line numbers (5-9), named in the caption.
    html | grep -q '<span class="ln" aria-hidden="true">5</span>' || fail "listing does not start at line 5"
    listing_text lst:01-main | grep -q 'Listing 1.1:' || fail "no caption Listing 1.1"
    listing_text lst:01-main | grep -q 'chapters/01-fix/hello.c, lines 5–9' ||
        fail "caption does not name the file and lines"
    run listing_text lst:01-main
    assert_output --partial 'puts(&quot;hello&quot;);'
    refute_output --partial 'region:'
    # A whole file, numbered from line 1, in chapter 02.
    html | grep -q '<span class="ln" aria-hidden="true">1</span>' || fail "whole-file listing does not start at line 1"
    listing_text lst:02-whole | grep -q 'Listing 2.1:' || fail "no Listing 2.1 in chapter 02"

    # stdout and stderr in terminal order, and the prompt.
    run bash -c "sed -n '/<pre class=\"console\">/,/<\\/pre>/p' '$fixture/build/book/ipclab.html' | sed 's/<[^>]*>//g'"
    assert_line --index 0 '$ greet'
    assert_line --index 1 'out 1'
    assert_line --index 2 'err 2'
    assert_line --index 3 'out 3'
    assert_line --index 4 '$ greet 3'
    assert_output --partial '[exit status 3]'

    # The diagram is numbered, rendered to SVG and embedded.
    html | grep -q 'Figure 1.1: Writer and reader' || fail "figure not numbered"
    html | grep -q 'src="data:image/svg+xml' || fail "diagram not embedded as SVG"

    # References resolved, across chapters too.
    html | grep -q '<a href="#lst:01-main">Listing 1.1</a>' || fail "[@lst:01-main] not resolved"
    html | grep -q '<a href="#fig:01-pipe">Figure 1.1</a>' || fail "[@fig:01-pipe] not resolved"
    html | grep -q '<a href="#lst:02-whole">Listing 2.1</a>' || fail "[@lst:02-whole] not resolved"
    html | grep -q '<a href="#ch:02" title="Chapter 2, Other">Chapter 2, <em>Other</em></a>' ||
        fail "[Chapter 2](#ch:02) does not show the chapter's title"

    # The student's book has no hints, and lists its figures and listings.
    if html | grep -q 'HINT-FOR-EXERCISE-ONE'; then
        fail "a ::: hint is in the student's book"
    fi
    html | grep -q '<a href="#fig:01-pipe">Figure 1.1</a>: Writer and reader' ||
        fail "no list of figures"

    # 03-ghost has no chapters/03-ghost: it is not in the book.
    if html | grep -q 'Ghost'; then
        fail "a Markdown file without its chapter is in the book"
    fi
}

@test "book: an HTML listing shows its real line numbers as text" {
    make_fixture
    build_book
    assert_success
    # The region starts at line 5 of hello.c: its first line reads "5" and
    # the code, its last "9"; the whole other.c starts at "1".
    run listing_text lst:01-main
    assert_line '5int main(void)'
    assert_line '9}'
    refute_line '4'
    run listing_text lst:02-whole
    assert_line '1/* other.c */'
    assert_line '2int other;'
    # The numbers are text, not a CSS counter.
    html | grep -q '<span class="ln" aria-hidden="true">5</span>' || fail "line 5 is not text"
}

@test "book: a run with the wrong exit status fails the build, naming the file, line and block" {
    make_fixture
    sed -i 's/^greet 3$/greet 4/' book/01-fix.md
    build_fails_with 'book/01-fix.md:14: .run block 2 (greet 4): exit status 4, expected 3 (expect=3)'
    assert_output --partial 'err 2'
    refute_output --partial 'traceback'
    [[ ! -e $fixture/build/book/parts/01-fix.json ]] || fail "stage 1 output written despite the failure"
}

@test "book: a run that takes too long fails the build" {
    make_fixture
    printf '\n```{.run timeout=1}\ntail -f /dev/null\n```\n' >> book/02-other.md
    build_fails_with 'book/02-other.md:14: .run block 1 (tail -f /dev/null): timed out after 1 s'
}

@test "book: a command before the last that fails fails the build, even with the status expected of the last" {
    make_fixture
    # Both commands exit 3; expect=3 is for the last one only.
    sed -i 's/^greet 3$/greet 3\ngreet 3/' book/01-fix.md
    build_fails_with 'book/01-fix.md:15: .run block 2 (greet 3): command 1 of 2 (greet 3) exited with status 3; every command but the last must succeed'
}

@test "book: a block that coordinates with sleep fails the build; a polling loop does not" {
    make_fixture
    printf '\n```{.run}\ngreet > out & sleep 0.2; cat out\nwait\n```\n' >> book/02-other.md
    build_fails_with 'book/02-other.md:15: .run block 1 (greet > out & sleep 0.2; cat out): uses sleep to wait for another process'
    # The fixture's "until ...; do sleep 0.01; ...; done" block builds (first test).
}

@test "book: sleep inside a quoted script fails the build; a quoted poll and a quoted lone command do not" {
    make_fixture
    # A script given to sh -c is a shell script like any other.
    printf '\n```{.run}\nsh -c '"'"'greet > out & sleep 0.2; cat out'"'"'\n```\n' >> book/02-other.md
    build_fails_with "book/02-other.md:15: .run block 1 (sh -c 'greet > out & sleep 0.2; cat out'): uses sleep to wait for another process"

    # A sleep after a polling loop is still a pause, not a poll.
    make_fixture
    printf '\n```{.run}\ntouch ready; until [ -e ready ]; do sleep 0.01; done; sleep 0.1\n```\n' >> book/02-other.md
    build_fails_with 'uses sleep to wait for another process'

    # A loop that tests nothing is no readiness wait.
    make_fixture
    printf '\n```{.run}\nwhile true; do sleep 0.01; break; done\n```\n' >> book/02-other.md
    build_fails_with 'uses sleep to wait for another process'

    # Allowed: a poll inside sh -c, and a lone command in quotes (text a
    # program is given, as read_child_output 'sleep 10' in chapter 2).
    make_fixture
    printf '\n```{.run}\ntimeout 5 sh -c '"'"'until [ -e ready ]; do sleep 0.01; touch ready; done'"'"'\necho '"'"'sleep 10'"'"'\n```\n' >> book/02-other.md
    build_book
    assert_success
}

@test "book: a link to a chapter or an appendix shows its number and title; a wrong one fails the build" {
    make_fixture
    printf '\nAs [@ch:01] and [chapter 1](#ch:01) say.\n' >> book/02-other.md
    build_book
    assert_success
    html | grep -q '<a href="#ch:01" title="Chapter 1, Fixture">Chapter 1, <em>Fixture</em></a> and <a href="#ch:01" title="Chapter 1, Fixture">chapter 1, <em>Fixture</em></a> say' ||
        fail "the references to chapter 1 do not show its title"

    # A link whose text names another chapter than it points at.
    make_fixture
    printf '\nSee [Chapter 3](#ch:01).\n' >> book/02-other.md
    build_fails_with 'book/02-other.md: the link [Chapter 3](#ch:01) must say "Chapter 1"'
}

@test "book: a diagram too wide to print its labels at 8 pt fails the build, naming it" {
    make_fixture
    printf '\n![Too wide](diagrams/01-wide.dot)\n' >> book/01-fix.md
    build_fails_with --regexp 'book/01-fix.md:42: diagram diagrams/01-wide.dot is [0-9]+ pt wide, so it prints at 470 pt \(x0\.[0-9]+\) and its smallest label \(10\.0 pt\) prints at [4-7]\.[0-9] pt; at least 8 pt is needed'
}

@test "book: a chapter without the common shape fails the build, naming the line" {
    make_fixture
    sed -i '/^## Further reading$/d' book/01-fix.md
    build_fails_with 'book/01-fix.md:31: chapter shape: the last three sections must be "## What to remember", "## Further reading", "## Exercises", in this order'
}

@test "book: the instructor's edition collects the hints, numbered by exercise" {
    make_fixture
    run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$fixture" \
        -f "$IPCLAB_ROOT/book/book.mk" BUILD=build book-instructor
    assert_success
    run sed 's/<[^>]*>//g' "$fixture/build/book/ipclab-instructor.html"
    assert_output --partial 'Hints for instructors'
    assert_line 'Exercise 1.1:'
    assert_line 'HINT-FOR-EXERCISE-ONE'
}

@test "book: an include of a missing file fails the build" {
    make_fixture
    sed -i 's|file="chapters/01-fix/hello.c" region|file="chapters/01-fix/gone.c" region|' book/01-fix.md
    build_fails_with 'book/01-fix.md:7: .include block 1 #lst:01-main: cannot read file "chapters/01-fix/gone.c"'
}

@test "book: an include of a missing region fails the build" {
    make_fixture
    sed -i 's/region="main"/region="mian"/' book/01-fix.md
    build_fails_with 'book/01-fix.md:7: .include block 1 #lst:01-main: no region "mian" in chapters/01-fix/hello.c'
}

@test "book: a region that is never closed, and a reference to nothing, fail the build" {
    make_fixture
    sed -i '/end region: main/d' chapters/01-fix/hello.c
    build_fails_with 'region "main" in chapters/01-fix/hello.c has no line "/* end region: main */"'

    make_fixture
    printf '\nSee [@lst:nowhere].\n' >> book/02-other.md
    build_fails_with 'book/02-other.md: [@lst:nowhere] refers to nothing in the book'
}

@test "book: a listing changes when its source changes, and only that part is redone" {
    make_fixture
    build_book
    assert_success
    run listing_text lst:01-main
    refute_output --partial 'goodbye'

    local other_before
    other_before=$(stat -c %y "$fixture/build/book/parts/02-other.json")
    sleep 0.01
    sed -i 's/    puts("hello");/    puts("hello");\n    puts("goodbye");/' chapters/01-fix/hello.c
    build_book
    assert_success
    assert_output --partial 'book: book/01-fix.md'
    refute_output --partial 'book: book/02-other.md'
    assert_equal "$(stat -c %y "$fixture/build/book/parts/02-other.json")" "$other_before"

    run listing_text lst:01-main
    assert_output --partial 'puts(&quot;goodbye&quot;);'
    # The region grew by a line: the caption says so.
    listing_text lst:01-main | grep -q 'lines 5–10' || fail "caption still shows the old lines"

    # Nothing changed: nothing is redone.
    build_book
    assert_success
    refute_output --partial 'book: '
}

@test "book: every chapter has book/NN-topic.md with a listing, a run, a diagram and exercises" {
    local dir name text problems=()
    for dir in "$IPCLAB_ROOT"/chapters/[0-9][0-9]-*/; do
        name=$(basename "$dir")
        text=$IPCLAB_ROOT/book/$name.md
        if [[ ! -f $text ]]; then
            problems+=("book/$name.md is missing")
            continue
        fi
        grep -qE '^```\{[^}]*\.include[ }]' "$text" || problems+=("book/$name.md has no .include")
        grep -qE '^```\{[^}]*\.run[ }]' "$text" || problems+=("book/$name.md has no .run")
        grep -qE '!\[[^]]*\]\(diagrams/[^)]*\.dot\)' "$text" || problems+=("book/$name.md shows no diagram")
        grep -q '^## Exercises' "$text" || problems+=("book/$name.md has no ## Exercises")
        # Top-level headings, outside fenced code blocks.
        [[ $(awk '/^```/ { code = !code } !code && /^# / { n++ } END { print n + 0 }' "$text") == 1 ]] ||
            problems+=("book/$name.md must have exactly one top-level # heading")
    done
    ((${#problems[@]} == 0)) || fail "$(printf '%s\n' "${problems[@]}")"
}

@test "book: every C call the PHP appendix names is used in chapters/ or lib/" {
    local call missing=()
    for call in $(grep -oE '`[a-z_]+\(\)`' "$IPCLAB_ROOT/book/appendix-a-php.md" | tr -d '`()' | sort -u); do
        grep -rqE "\\b$call\\(" "$IPCLAB_ROOT/chapters" "$IPCLAB_ROOT/lib" --include='*.c' --include='*.h' ||
            missing+=("$call()")
    done
    ((${#missing[@]} == 0)) || fail "the appendix names calls no program uses: ${missing[*]}"
}
