-- ipclab.lua - the book's own pandoc filter (pandoc 2.17, Lua 5.3).
--
-- Nothing in the book is pasted: listings come from the sources, outputs
-- from running the programs, figures from diagrams/ and from data the
-- programs print.  book/README.md describes the syntax; in short:
--
--   ```{#lst:ID .include file="chapters/..." region="NAME" caption="..."}
--   ```                                     a listing, numbered per chapter
--   ```{.run expect=N timeout=S}
--   command line                            `$ command` and what it printed
--   ```
--   ```{#fig:ID .plot script="book/plots/x.gp" caption="..." timeout=S}
--   shell commands printing the data        a gnuplot figure
--   ```
--   ![Caption](diagrams/x.dot){#fig:ID}     a graphviz figure
--   [@lst:ID], [@fig:ID]                    "Listing 5.1", "Figure 5.2"
--   ::: environment                         (preface) where the outputs
--   :::                                     were produced
--
-- The build runs it in three stages (IPCLAB_BOOK_STAGE, set by book.mk):
--   part      one Markdown file -> JSON.  Runs, includes, plots, numbers,
--             references inside the file; writes a make depfile listing
--             the files it read.  Diagrams stay as their .dot path here.
--   assemble  the parts' JSON files (IPCLAB_BOOK_PARTS) -> one book;
--             resolves references across parts, makes ids unique.
--   output    the book -> html5, epub3 or latex: renders each diagram for
--             the format (SVG, or PDF for LaTeX), cached by content.
-- Anything wrong stops the build through die(): pandoc then exits 83 and
-- writes no output (--fail-if-warnings does not see a filter's messages).

local stage = os.getenv('IPCLAB_BOOK_STAGE') or 'part'
local build_dir = os.getenv('IPCLAB_BUILD') or 'build'
local book_dir = os.getenv('IPCLAB_BOOK_DIR') or (build_dir .. '/book')
local root = pandoc.system.get_working_directory()
local path = pandoc.path

local DEFAULT_TIMEOUT = 10     -- seconds a .run or .plot may take
local OUTPUT_WIDTH = 104       -- longer output lines wrap (the PDF fits ~110)
local LISTING_WIDTH = 110      -- longer source lines stick out of the PDF page
-- Prompt lines reach the output stream with this mark in front, so they
-- are told apart from a program that prints "$ " itself.
local PROMPT_MARK = '\1'
-- The script of a .run block prints this mark, the command's number and its
-- status when a command before the last fails.
local FAILED_MARK = '\3ipclab failed '

-- The part being built: "05-shm-counter-race", "preface", "appendix-a-php".
local input = (PANDOC_STATE.input_files or {})[1] or 'stdin'
local part = path.split_extension(path.filename(input))
-- Its number in labels: "5" (chapter 05), "A" (appendix-a-...), "" otherwise.
local part_number = ''
if part:match('^%d%d%-') then
    part_number = tostring(tonumber(part:sub(1, 2)))
elseif part:match('^appendix%-%a%-') then
    part_number = part:sub(10, 10):upper()
end

-- Stops the build with a message, and no Lua traceback: pandoc appends
-- one to an error() raised in a filter, so the message is written here and
-- the process exits with pandoc's status for a failed filter (83), before
-- any output file is written.
local function die(message)
    io.stderr:write('ipclab book: ' .. message:gsub('^\n+', ''):gsub('\n+$', '') .. '\n')
    io.stderr:flush()
    os.exit(83)
end

-- Fails the build.  `what` names the block, e.g. ".run block 2"; `line`,
-- when known, is the block's line in the Markdown file.
local current_line        -- the line of the block being worked on, if known
local function fail(what, message, line)
    line = line or current_line
    die(input .. (line and (':' .. line) or '') .. ': ' .. what .. ': ' .. message)
end

-- A problem of shape or legibility in `file`: it fails the build.
local function complain(file, message)
    die(file .. message)
end

-- doc:walk(filter), but an error() inside a filter function stops the
-- build with its own message: raised through walk it would come out
-- wrapped and escaped ("PandocLuaError ...").
local function walk(doc, filter)
    local failure
    local guarded = {}
    for key, fn in pairs(filter) do
        if type(fn) == 'function' then
            guarded[key] = function(...)
                if failure then
                    return nil
                end
                local ok, a, b = pcall(fn, ...)
                if not ok then
                    failure = a
                    return nil
                end
                return a, b
            end
        else
            guarded[key] = fn
        end
    end
    local result = doc:walk(guarded)
    if failure then
        error(failure, 0)
    end
    return result
end

local function absolute(p)
    if path.is_absolute(p) then
        return p
    end
    return path.join({ root, p })
end

local function read_file(p)
    local f = io.open(absolute(p), 'rb')
    if not f then
        return nil
    end
    local text = f:read('a')
    f:close()
    return text
end

local function write_file(p, text)
    -- The HTML and EPUB builds may render the same diagram at once: each
    -- writes its own temporary file, and the rename is atomic.
    local tmp = p .. '.' .. FORMAT .. '.tmp'
    local f = assert(io.open(tmp, 'wb'))
    f:write(text)
    f:close()
    assert(os.rename(tmp, p))
end

local function mkdir_p(p)
    os.execute("mkdir -p '" .. p:gsub("'", "'\\''") .. "'")
end

-- Quotes a string for sh.
local function shq(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function lines_of(text)
    local lines = {}
    for line in (text .. '\n'):gmatch('(.-)\r?\n') do
        lines[#lines + 1] = line
    end
    if text:sub(-1) == '\n' then
        lines[#lines] = nil       -- the last newline ends a line, not starts one
    end
    return lines
end

-- Tabs to spaces (every 8 columns), as a terminal and most editors show them.
local function expand_tabs(line)
    if not line:find('\t', 1, true) then
        return line
    end
    local out, col = {}, 0
    for _, c in utf8.codes(line) do
        if c == 9 then
            local n = 8 - col % 8
            out[#out + 1] = string.rep(' ', n)
            col = col + n
        else
            out[#out + 1] = utf8.char(c)
            col = col + 1
        end
    end
    return table.concat(out)
end

-- A caption attribute is Markdown: `code` and *emphasis* work in it.
local function inlines_of(markdown)
    local doc = pandoc.read(markdown, 'markdown')
    if #doc.blocks == 0 then
        return pandoc.List()
    end
    return doc.blocks[1].content
end

local function label(kind, n)
    if part_number == '' then
        return kind .. ' ' .. n
    end
    return kind .. ' ' .. part_number .. '.' .. n
end

-- Names a block in error messages: ".run block 2 (shm_counter --lock none)".
local function block_name(kind, ordinal, el)
    local name = '.' .. kind .. ' block ' .. ordinal
    if el.identifier ~= '' then
        name = name .. ' #' .. el.identifier
    end
    local first = el.text:match('^%s*([^\n]*)')
    if first and first ~= '' then
        if #first > 60 then
            first = first:sub(1, 57) .. '...'
        end
        name = name .. ' (' .. first .. ')'
    end
    return name
end

-- Where the blocks are in the Markdown file, for messages: pandoc 2.17
-- gives no source positions, so the file is scanned for the fences of
-- .run, .include and .plot blocks (in order), images, and headings.  The
-- n-th .run block the filter meets is the n-th .run fence here.
local source_index
local function index_source()
    if source_index then
        return source_index
    end
    source_index = { run = {}, include = {}, plot = {}, hint = {}, images = {}, headings = {} }
    local text = read_file(input) or ''
    local fence_char, fence_len
    for n, line in ipairs(lines_of(text)) do
        if fence_char then
            local close = line:match('^%s*([`~]+)%s*$')
            if close and close:sub(1, 1) == fence_char and #close >= fence_len then
                fence_char = nil
            end
        else
            local open, rest = line:match('^%s*(```+)(.*)$')
            if not open then
                open, rest = line:match('^%s*(~~~+)(.*)$')
            end
            if open then
                fence_char, fence_len = open:sub(1, 1), #open
                local attrs = rest:match('^%s*(%b{})')
                if attrs then
                    for _, kind in ipairs({ 'run', 'include', 'plot' }) do
                        if attrs:match('%.' .. kind .. '[%s}]') then
                            table.insert(source_index[kind], n)
                        end
                    end
                end
            else
                for src in line:gmatch('!%b[]%(%s*([^)%s]+)') do
                    table.insert(source_index.images, { src = src, line = n })
                end
                local hashes, title = line:match('^(#+)%s+(.-)%s*$')
                if hashes then
                    title = title:gsub('%s*{.-}%s*$', '')
                    table.insert(source_index.headings, { level = #hashes, title = title, line = n })
                end
                if line:match('^%s*:::+%s*{?%s*%.?hint%s*}?%s*$') then
                    table.insert(source_index.hint, n)
                end
            end
        end
    end
    source_index.last = #lines_of(text)
    return source_index
end

-- The line of the n-th block of `kind` (run, include, plot, hint).
local function source_line(kind, n)
    return index_source()[kind][n]
end

-- The line of the first image showing `src` not already claimed.
local claimed_images = {}
local function image_line(src)
    for i, img in ipairs(index_source().images) do
        if img.src == src and not claimed_images[i] then
            claimed_images[i] = true
            return img.line
        end
    end
    return nil
end

-- ---------------------------------------------------------------------------
-- part stage
-- ---------------------------------------------------------------------------

local deps = {}            -- files this part read: make rebuilds it when they change
local diagrams = {}        -- diagram files: the output formats depend on them
local labels = {}          -- id -> "Listing 5.1"
local counters = { include = 0, run = 0, plot = 0, listing = 0, figure = 0 }

local function add_dep(list, p)
    if not list[p] then
        list[p] = true
        list[#list + 1] = p
    end
end

-- The listings and figures of this part, for the book's list of them.
local index_entries = {}
local function add_index(kind, name, id, caption)
    index_entries[#index_entries + 1] = pandoc.MetaMap({
        kind = pandoc.MetaString(kind), label = pandoc.MetaString(name), id = pandoc.MetaString(id),
        caption = pandoc.MetaInlines(caption),
    })
end

local function define_label(what, id, text)
    if id == '' then
        return
    end
    if labels[id] then
        fail(what, 'the id #' .. id .. ' is used twice in this file')
    end
    labels[id] = text
end

-- The command a .run or .plot runs: a fresh directory, the chapter's
-- programs first on PATH, C.UTF-8, no terminal, a time limit.
local function shell_env(dir)
    local bin = absolute(path.join({ build_dir, 'chapters', part }))
    return 'cd ' .. shq(dir) .. ' && exec env LC_ALL=C.UTF-8 TMPDIR=' .. shq(dir) ..
        ' PATH=' .. shq(bin .. ':' .. (os.getenv('PATH') or '/usr/bin:/bin'))
end

-- Runs `script` (sh) in a fresh directory.  Returns the exit status and
-- what it printed (stdout and stderr in one stream, in terminal order),
-- and what `after(dir, status)` returns: it runs in the same directory
-- before that is removed.
local function run_shell(script, timeout, after)
    local status, output, extra
    pandoc.system.with_temporary_directory('ipclab-run', function(dir)
        local cmd = shell_env(dir) .. ' timeout -k 2 ' .. timeout .. ' sh -c ' ..
            shq(script) .. ' </dev/null 2>&1'
        local f = io.popen(cmd, 'r')
        output = f:read('a')
        local _, how, code = f:close()
        status = code
        if how == 'signal' then
            status = 128 + code
        end
        if after then
            extra = after(dir, status)
        end
    end)
    return status, output, extra
end

local function timeout_of(what, el)
    local t = el.attributes.timeout or tostring(DEFAULT_TIMEOUT)
    if not t:match('^%d+%.?%d*$') or tonumber(t) <= 0 then
        fail(what, 'timeout="' .. t .. '" is not a number of seconds')
    end
    return t
end

local function check_status(what, status, expect, timeout, output)
    local shown = output:gsub(PROMPT_MARK, ''):gsub('\n$', '')
    if shown == '' then
        shown = '(no output)'
    end
    if (status == 124 or status == 137) and status ~= expect then
        fail(what, 'timed out after ' .. timeout .. ' s (a larger timeout= allows more); it printed:\n' ..
            shown)
    end
    if status ~= expect then
        fail(what, 'exit status ' .. status .. ', expected ' .. expect ..
            (expect == 0 and '' or ' (expect=' .. expect .. ')') .. '; it printed:\n' .. shown)
    end
end

-- Long output lines wrap at OUTPUT_WIDTH, as a terminal would, but at a
-- space where there is one; escape sequences are dropped.  Returns the
-- lines, and the numbers of those that show a command.
local function tidy_output(output)
    local out, prompts = {}, {}
    output = output:gsub('\27%[[%d;?]*[%a]', '')
    for _, line in ipairs(lines_of(output)) do
        local prompt = line:sub(1, 1) == PROMPT_MARK
        if prompt then
            line = line:sub(2)
        end
        line = expand_tabs(line)
        local first = #out + 1
        while utf8.len(line) and utf8.len(line) > OUTPUT_WIDTH do
            -- At the last space that fits, if it is not too far back.
            local cut = utf8.offset(line, OUTPUT_WIDTH + 1)
            local space = line:sub(1, cut - 1):match('.*() ')
            if space and space > cut / 2 then
                out[#out + 1] = line:sub(1, space - 1)
                line = line:sub(space + 1)
            else
                out[#out + 1] = line:sub(1, cut - 1)
                line = line:sub(cut)
            end
        end
        out[#out + 1] = line
        if prompt then
            for i = first, #out do
                prompts[#prompts + 1] = tostring(i)
            end
        end
    end
    return out, prompts
end

-- The line of `command` (a list of lines) in the block's text, from 1: the
-- fence is line 0.
local function command_offset(text, command)
    for n, line in ipairs(lines_of(text)) do
        if line == command[1] then
            return n
        end
    end
    return 1
end

-- No `sleep` to coordinate processes: on a loaded machine any pause can be
-- too short.  A block waits for readiness instead: a program's own option
-- (--ready, --wait), or a loop that polls for a condition
-- (`until grep -qs ready out; do sleep 0.01; done`).  Such a loop, whose
-- condition tests something (not `true` or `:`), is a readiness wait,
-- bounded by the block's timeout: the sleeps inside it are allowed, and
-- no other.  Quoted text that is a shell script (after `sh -c` or `eval`,
-- or holding `;`, `&`, `|` or a newline) is checked the same way; a quoted
-- lone command given to a program to run (`read_child_output 'sleep 10'`)
-- is not a wait.
local function strip_polls(text)
    local out, from = {}, 1
    while true do
        local a, b, word = text:find('%f[%w](%a+)%f[%W]', from)
        if not a then
            break
        end
        if word == 'until' or word == 'while' then
            local d1, d2 = text:find('%f[%w]do%f[%W]', b + 1)
            local e1, e2 = text:find('%f[%w]done%f[%W]', (d2 or b) + 1)
            if d1 and e1 then
                local condition = text:sub(b + 1, d1 - 1):gsub('[%s;]', '')
                if condition ~= '' and condition ~= 'true' and condition ~= ':' and condition ~= 'false' then
                    out[#out + 1] = text:sub(from, a - 1) .. ' '
                    from = e2 + 1
                    goto continue
                end
            end
        end
        out[#out + 1] = text:sub(from, b)
        from = b + 1
        ::continue::
    end
    out[#out + 1] = text:sub(from)
    return table.concat(out)
end

local function sleeps_to_wait(text)
    local scripts = {}
    local function keep(prev, space, quoted)
        if prev:match('%-c$') or prev:match('eval$') or quoted:find('[;&|\n]') then
            scripts[#scripts + 1] = quoted
        end
        return prev .. space .. '""'
    end
    local bare = (' ' .. text .. ' '):gsub("(%S*)(%s*)'([^']*)'", keep)
    bare = bare:gsub('(%S*)(%s*)"([^"]*)"', keep)
    if (' ' .. strip_polls(bare) .. ' '):match('[%s;&|()`]sleep[%s;&|)]') then
        return true
    end
    for _, script in ipairs(scripts) do
        if sleeps_to_wait(script) then
            return true
        end
    end
    return false
end

local function check_no_sleep(what, command, line)
    if not sleeps_to_wait(command:gsub('\\\n', ' ')) then
        return
    end
    fail(what, 'uses sleep to wait for another process (' .. command:match('^[^\n]*') ..
        '): on a busy machine no pause is long enough.  Wait for readiness instead: ' ..
        "the program's own option (--ready, --wait-ms), or poll for what you wait for, e.g. " ..
        "`until grep -qs 'listening' server.out; do sleep 0.01; done`", line)
end

-- The body of a .run block: one command a line (a line ending in `\`
-- continues on the next).  Shown with `$ ` prompts; each command's output
-- follows it; a command that fails stops the block.
local function run_block(el)
    counters.run = counters.run + 1
    current_line = source_line('run', counters.run)
    local what = block_name('run', counters.run, el)
    local expect = tonumber(el.attributes.expect or '0')
    if not expect or expect ~= math.floor(expect) or expect < 0 or expect > 255 then
        fail(what, 'expect="' .. el.attributes.expect .. '" is not an exit status')
    end
    local timeout = timeout_of(what, el)

    local commands, current = {}, nil
    for _, line in ipairs(lines_of(el.text)) do
        if current then
            current[#current + 1] = line
        elseif line:match('%S') then
            current = { line }
        end
        if current and not line:match('\\$') then
            commands[#commands + 1] = current
            current = nil
        end
    end
    if current then
        commands[#commands + 1] = current
    end
    if #commands == 0 then
        fail(what, 'the block has no command')
    end
    for i, command in ipairs(commands) do
        check_no_sleep(what, table.concat(command, '\n'), current_line and
            (current_line + command_offset(el.text, command)) or nil)
    end

    -- Each prompt is printed by the script itself, so it lands in the
    -- stream just before that command's output.
    local script = {}
    for i, command in ipairs(commands) do
        local shown = {}
        for j, line in ipairs(command) do
            shown[j] = PROMPT_MARK .. (j == 1 and '$ ' or '> ') .. line
        end
        script[#script + 1] = 'printf "%s\\n" ' .. shq(table.concat(shown, '\n'))
        script[#script + 1] = table.concat(command, '\n')
        if i < #commands then
            -- Only the last command may fail (expect= is its status): an
            -- earlier one that fails is reported with this mark, whatever
            -- its status, so it cannot pass for the expected failure.
            script[#script + 1] = 'st=$?; [ $st -eq 0 ] || { printf "' .. FAILED_MARK ..
                '%d %d\\n" ' .. i .. ' $st; exit $st; }'
        end
    end
    local status, output = run_shell(table.concat(script, '\n'), timeout)
    local failed_i, failed_st = output:match(FAILED_MARK .. '(%d+) (%d+)\n')
    if failed_i and not (status == 124 or status == 137) then
        local command = commands[tonumber(failed_i)]
        local shown = output:gsub(FAILED_MARK .. '[^\n]*\n', ''):gsub(PROMPT_MARK, ''):gsub('\n$', '')
        fail(what, 'command ' .. failed_i .. ' of ' .. #commands .. ' (' .. command[1] ..
            ') exited with status ' .. failed_st .. '; every command but the last must succeed ' ..
            '(expect= is the status of the last one): split the block; it printed:\n' .. shown,
            current_line and (current_line + command_offset(el.text, command)) or nil)
    end
    check_status(what, status, expect, timeout, output)

    local text, prompts = tidy_output(output)
    if status ~= 0 then
        text[#text + 1] = '[exit status ' .. status .. ']'
    end
    local attr = pandoc.Attr('', { 'console' }, { { 'prompts', table.concat(prompts, ' ') } })
    return pandoc.Div({ pandoc.CodeBlock(table.concat(text, '\n'), attr) },
        pandoc.Attr(el.identifier, { 'run' }))
end

-- Regions are marked by whole lines:  /* region: NAME */ ... /* end region: NAME */
-- (or "# region: NAME" in shell and make files).
local function marker(line)
    local body = line:match('^%s*/%*%s*(.-)%s*%*/%s*$') or line:match('^%s*#%s*(.-)%s*$')
    if not body then
        return nil
    end
    local kind, name = body:match('^(end region):%s*(%S+)$')
    if not kind then
        kind, name = body:match('^(region):%s*(%S+)$')
    end
    return kind, name
end

local languages = { c = 'c', h = 'c', sh = 'bash', bash = 'bash', mk = 'makefile',
    dot = 'dot', py = 'python', lua = 'lua', gp = 'gnuplot', md = 'markdown' }

local function include_block(el)
    counters.include = counters.include + 1
    current_line = source_line('include', counters.include)
    local what = block_name('include', counters.include, el)
    local file = el.attributes.file
    if not file or file == '' then
        fail(what, 'no file="..." attribute')
    end
    local text = read_file(file)
    if not text then
        fail(what, 'cannot read file "' .. file .. '" (paths are relative to the repository root)')
    end
    add_dep(deps, file)

    local lines = lines_of(text)
    local first, last = 1, #lines
    local region = el.attributes.region
    if region then
        local start, stop
        for i, line in ipairs(lines) do
            local kind, name = marker(line)
            if name == region then
                if kind == 'region' then
                    if start then
                        fail(what, 'region "' .. region .. '" starts twice in ' .. file ..
                            ' (lines ' .. start .. ' and ' .. i .. ')')
                    end
                    start = i
                elseif start and not stop then
                    stop = i
                else
                    fail(what, 'line ' .. i .. ' of ' .. file .. ' ends region "' .. region ..
                        '" that is not open')
                end
            end
        end
        if not start then
            fail(what, 'no region "' .. region .. '" in ' .. file ..
                ' (expected a line "/* region: ' .. region .. ' */")')
        end
        if not stop then
            fail(what, 'region "' .. region .. '" in ' .. file .. ' has no line "/* end region: ' ..
                region .. ' */"')
        end
        first, last = start + 1, stop - 1
        if last < first then
            fail(what, 'region "' .. region .. '" in ' .. file .. ' is empty')
        end
    end
    if #lines == 0 then
        fail(what, file .. ' is empty')
    end

    -- Code does not wrap in the PDF (no fvextra): say which lines stick out.
    local excerpt, long = {}, {}
    for i = first, last do
        excerpt[#excerpt + 1] = expand_tabs(lines[i])
        if (utf8.len(excerpt[#excerpt]) or 0) > LISTING_WIDTH then
            long[#long + 1] = tostring(i)
        end
    end
    if #long > 0 then
        io.stderr:write('book: warning: ' .. input .. ': ' .. what .. ': lines longer than ' ..
            LISTING_WIDTH .. ' columns stick out of the PDF page: ' .. file .. ' line' ..
            (#long > 1 and 's ' or ' ') .. table.concat(long, ', ') .. '\n')
    end

    -- The language: a class next to .include, else the file's extension.
    local lang
    for _, class in ipairs(el.classes) do
        if class ~= 'include' then
            lang = class
        end
    end
    if not lang then
        local name = path.filename(file)
        local _, ext = path.split_extension(name)
        lang = languages[ext:sub(2)] or ((name == 'Makefile' or name == 'GNUmakefile') and 'makefile')
    end
    local classes = { 'numberLines' }
    if lang then
        table.insert(classes, 1, lang)
    end

    counters.listing = counters.listing + 1
    local name = label('Listing', counters.listing)
    define_label(what, el.identifier, name)
    if el.identifier == '' then
        el.identifier = 'lst-' .. part .. '-' .. counters.listing
    end

    -- "Listing 5.1: The worker's loop", and on a line of its own (a path
    -- does not break) the file and the lines shown.
    local caption = pandoc.List({ pandoc.Strong({ pandoc.Str(name .. ':') }) })
    if el.attributes.caption and el.attributes.caption ~= '' then
        caption:insert(pandoc.Space())
        caption:extend(inlines_of(el.attributes.caption))
        caption:insert(pandoc.LineBreak())
    else
        caption:insert(pandoc.Space())
    end
    caption:insert(pandoc.Code(file))
    if region then
        caption:insert(pandoc.Str(', lines ' .. first .. '–' .. last))
    end

    add_index('Listing', name, el.identifier, inlines_of(el.attributes.caption or file))
    local code = pandoc.CodeBlock(table.concat(excerpt, '\n'),
        pandoc.Attr('', classes, { { 'startFrom', tostring(first) } }))
    return pandoc.Div({ pandoc.Div({ pandoc.Plain(caption) }, pandoc.Attr('', { 'caption' })), code },
        pandoc.Attr(el.identifier, { 'listing' }))
end

local function figure_caption(name, caption)
    local inlines = pandoc.List({ pandoc.Str(name .. ':'), pandoc.Space() })
    inlines:extend(caption)
    return inlines
end

-- A gnuplot figure from data printed by the block's commands.  The data
-- goes to the file "data" in a fresh directory, where the script runs
-- with a terminal set for each format: SVG for HTML and EPUB, PDF for LaTeX.
local function plot_block(el)
    counters.plot = counters.plot + 1
    current_line = source_line('plot', counters.plot)
    local what = block_name('plot', counters.plot, el)
    local script = el.attributes.script
    if not script or script == '' then
        fail(what, 'no script="..." attribute (a gnuplot script)')
    end
    if not read_file(script) then
        fail(what, 'cannot read the gnuplot script "' .. script .. '"')
    end
    add_dep(deps, script)
    local timeout = timeout_of(what, el)

    counters.figure = counters.figure + 1
    local name = label('Figure', counters.figure)
    define_label(what, el.identifier, name)
    if el.identifier == '' then
        el.identifier = 'fig-' .. part .. '-' .. counters.figure
    end

    local out = path.join({ book_dir, 'plots' })
    mkdir_p(out)
    local base = path.join({ out, part .. '-' .. counters.figure })
    -- stdout goes to the file "data"; stderr is what shows in a message.
    local status, output, err = run_shell('{\n' .. el.text .. '\n} >data', timeout, function(dir, status)
        if status ~= 0 then
            return nil
        end
        for _, t in ipairs({ { 'svg', "svg size 720,420 dynamic font 'Helvetica,13'", '.svg' },
                             { 'pdf', "pdfcairo size 6in,3.5in font 'Helvetica,10'", '.pdf' } }) do
            local cmd = shell_env(dir) .. ' gnuplot -e ' ..
                shq('set terminal ' .. t[2] .. "; set output '" .. absolute(base .. t[3]) .. "'") ..
                ' ' .. shq(absolute(script)) .. ' 2>&1'
            local f = io.popen(cmd, 'r')
            local printed = f:read('a')
            local _, _, code = f:close()
            if code ~= 0 then
                return 'gnuplot ' .. script .. ' (' .. t[1] .. ') failed with status ' .. code ..
                    ':\n' .. printed
            end
        end
        return nil
    end)
    -- The data goes to a file, so only stderr shows here.
    check_status(what, status, 0, timeout, output)
    if err then
        fail(what, err)
    end
    add_index('Figure', name, el.identifier, inlines_of(el.attributes.caption or ''))
    local caption = figure_caption(name, inlines_of(el.attributes.caption or ''))
    local image = pandoc.Image(caption, base .. '.svg', 'fig:',
        pandoc.Attr(el.identifier, { 'plot' }, { { 'latex-src', base .. '.pdf' } }))
    return pandoc.Para({ image })
end

local function figure_para(el)
    local img = el.content[1]
    counters.figure = counters.figure + 1
    current_line = image_line(img.src)
    local what = 'figure ' .. counters.figure .. ' (' .. img.src .. ')'
    if not img.src:match('^%a[%w+.-]*:') then        -- a file, not a URL
        if not read_file(img.src) then
            fail(what, 'cannot read "' .. img.src .. '" (paths are relative to the repository root)')
        end
        add_dep(diagrams, img.src)
    end
    local name = label('Figure', counters.figure)
    define_label(what, img.identifier, name)
    if img.identifier == '' then
        img.identifier = 'fig-' .. part .. '-' .. counters.figure
    end
    add_index('Figure', name, img.identifier, img.caption)
    img.caption = figure_caption(name, img.caption)
    img.attributes['ipclab-part'] = input
    if current_line then
        img.attributes['ipclab-line'] = tostring(current_line)
    end
    return el
end

local function is_figure(el)
    return el.t == 'Para' and #el.content == 1 and el.content[1].t == 'Image' and
        el.content[1].title == 'fig:'
end

-- Where the outputs were produced, once per book (the preface).
local function environment_block()
    local function sh(cmd)
        local f = io.popen('{ ' .. cmd .. '; } 2>/dev/null', 'r')
        local out = f:read('a'):gsub('%s+$', '')
        f:close()
        return out
    end
    local cc = os.getenv('IPCLAB_CC') or 'cc'
    local os_name = sh('. /etc/os-release && echo "$PRETTY_NAME"')
    local items = {
        { 'Kernel', sh('uname -srm') },
        { 'Operating system', os_name ~= '' and os_name or sh('uname -o') },
        { 'C compiler', cc .. ': ' .. sh(cc .. ' --version | head -n 1') },
        { 'C library', sh('getconf GNU_LIBC_VERSION') },
        { 'CPUs online', sh('getconf _NPROCESSORS_ONLN') },
        { 'Book built with', 'pandoc ' .. tostring(PANDOC_VERSION) .. ', ' .. sh('dot -V 2>&1') },
    }
    local list = {}
    for _, item in ipairs(items) do
        list[#list + 1] = { pandoc.Strong({ pandoc.Str(item[1] .. ':') }), pandoc.Space(), pandoc.Code(item[2]) }
    end
    return pandoc.BulletList(pandoc.List(list):map(function(i) return { pandoc.Plain(i) } end))
end

-- The references the filter resolves: listings, figures, chapters
-- ([@ch:05] is "Chapter 5") and appendices ([@app:a]).
local function is_ref(citation)
    return citation.id:match('^lst:') or citation.id:match('^fig:') or
        citation.id:match('^ch:%d%d$') or citation.id:match('^app:%a$')
end

-- [@lst:ID] -> a link "Listing 5.1".  An id `known` lacks is left as it is
-- (nil is returned) unless `missing(id)` gives the inlines to show.
-- `link_of(id, link)`, if given, may make the link into another one.
local function resolve_cite(el, known, missing, link_of)
    local out = pandoc.List()
    for i, citation in ipairs(el.citations) do
        if not is_ref(citation) then
            return nil
        end
        local shown
        if known[citation.id] then
            shown = pandoc.Link({ pandoc.Str(known[citation.id]) }, '#' .. citation.id)
            if link_of then
                shown = link_of(citation.id, shown)
            end
        elseif missing then
            shown = missing(citation.id)
        end
        if not shown then
            return nil
        end
        if i > 1 then
            out:insert(pandoc.Str(i == #el.citations and ' and' or ','))
            out:insert(pandoc.Space())
        end
        if #citation.prefix > 0 then
            out:extend(citation.prefix)
            out:insert(pandoc.Space())
        end
        out:insert(shown)
        if #citation.suffix > 0 then
            out:extend(citation.suffix)
        end
    end
    return out
end

local function write_depfile(target, depfile)
    local out = { target .. ':' }
    for _, p in ipairs(deps) do
        out[#out + 1] = ' ' .. p
    end
    out[#out + 1] = '\n'
    -- The formats render the diagrams: they depend on them.
    out[#out + 1] = 'BOOK_DIAGRAMS +='
    for _, p in ipairs(diagrams) do
        out[#out + 1] = ' ' .. p
    end
    out[#out + 1] = '\n'
    -- An empty rule for each file, so deleting one is not an error (like -MP).
    for _, p in ipairs(deps) do
        out[#out + 1] = p .. ':\n'
    end
    for _, p in ipairs(diagrams) do
        if not deps[p] then
            out[#out + 1] = p .. ':\n'
        end
    end
    write_file(depfile, table.concat(out))
end

-- Every chapter has the same shape (COMMON rules of the book): its first
-- section is "## The calls", and its last three are "## What to remember",
-- "## Further reading" and "## Exercises", in this order.
local SHAPE_FIRST = 'The calls'
local SHAPE_LAST = { 'What to remember', 'Further reading', 'Exercises' }

local function check_shape()
    local sections = {}
    for _, h in ipairs(index_source().headings) do
        if h.level == 2 then
            sections[#sections + 1] = h
        end
    end
    local problems = {}
    if #sections == 0 then
        problems[#problems + 1] = ':' .. index_source().last .. ': chapter shape: no "##" section at all'
    else
        if sections[1].title ~= SHAPE_FIRST then
            problems[#problems + 1] = ':' .. sections[1].line .. ': chapter shape: the first section must be "## ' ..
                SHAPE_FIRST .. '" (a synopsis of each call the chapter introduces), not "## ' ..
                sections[1].title .. '"'
        end
        local found = {}
        for k = math.max(1, #sections - 2), #sections do
            found[#found + 1] = '"' .. sections[k].title .. '" (line ' .. sections[k].line .. ')'
        end
        for k = 1, 3 do
            local h = sections[#sections - 3 + k]
            if not h or h.title ~= SHAPE_LAST[k] then
                local at = sections[#sections].line
                problems[#problems + 1] = ':' .. at .. ': chapter shape: the last three sections must be "## ' ..
                    table.concat(SHAPE_LAST, '", "## ') .. '", in this order; the last ones are ' ..
                    table.concat(found, ', ')
                break
            end
        end
    end
    if #problems > 0 then
        complain(input, table.concat(problems, '\n  ' .. input))
    end
end

-- Each hint gets the number of the exercise it follows ("Exercise 5.3"):
-- the last item of the numbered lists after "## Exercises" before it, or
-- the item it is inside.
local function number_hints(blocks)
    local in_exercises, count = false, 0
    local function mark(div)
        local attrs = {}
        for k, v in pairs(div.attributes) do
            attrs[k] = v
        end
        attrs['exercise'] = in_exercises and count > 0 and label('Exercise', count) or ''
        attrs['ipclab-part'] = input
        return pandoc.Div(div.content, pandoc.Attr(div.identifier, div.classes, attrs))
    end
    local hint_filter = {
        Div = function(div)
            if div.classes:includes('hint') then
                return mark(div)
            end
        end,
    }
    local out = pandoc.List()
    for _, block in ipairs(blocks) do
        if block.t == 'Header' and block.level <= 2 then
            in_exercises = block.level == 2 and pandoc.utils.stringify(block.content) == 'Exercises'
            count = 0
        elseif block.t == 'OrderedList' then
            count = (block.listAttributes and block.listAttributes.start or block.start or 1) - 1
            local items = pandoc.List()
            for _, item in ipairs(block.content) do
                count = count + 1
                items:insert(pandoc.Div(item):walk(hint_filter).content)
            end
            block = pandoc.OrderedList(items, block.listAttributes)
        elseif block.t == 'Div' and block.classes:includes('hint') then
            block = mark(block)
        end
        out:insert(block)
    end
    return out
end

-- [output]{.live cmd="getconf PIPE_BUF /"}: what the command prints on the
-- machine that builds the book, in code (the limits appendix uses it).
local function live_span(el)
    local cmd = el.attributes.cmd
    if not cmd or cmd == '' then
        fail('live span', 'no cmd="..." attribute')
    end
    local status, output = run_shell(cmd, '5')
    if status ~= 0 and el.attributes.fallback then
        return pandoc.Emph({ pandoc.Str(el.attributes.fallback) })
    elseif status ~= 0 then
        fail('live span (' .. cmd .. ')', 'exit status ' .. status .. ' (a fallback="..." attribute ' ..
            'shows a text instead); it printed:\n' .. output)
    end
    return pandoc.Code((output:gsub('%s+$', ''):gsub('%s*\n%s*', ' ')))
end

local function part_stage(doc)
    local top = 0
    local title = ''
    local title_inlines = pandoc.List()
    doc = walk(doc, {
        traverse = 'topdown',
        Span = function(el)
            if el.classes:includes('live') then
                return live_span(el)
            end
        end,
        Block = function(el)
            current_line = nil         -- each handler sets it for its own block
            if el.t == 'CodeBlock' then
                if el.classes:includes('include') then
                    return include_block(el), false
                elseif el.classes:includes('run') then
                    return run_block(el), false
                elseif el.classes:includes('plot') then
                    return plot_block(el), false
                end
            elseif el.t == 'Header' and el.level == 1 then
                top = top + 1
                title = pandoc.utils.stringify(el.content)
                title_inlines = el.content:clone()
                -- The chapter's number goes into its title, and its id is
                -- what [@ch:05] or [@app:a] refers to.
                if part_number ~= '' then
                    if part:match('^appendix') then
                        el.identifier = 'app:' .. part_number:lower()
                        define_label('headings', el.identifier, 'Appendix ' .. part_number)
                    else
                        el.identifier = 'ch:' .. part:sub(1, 2)
                        define_label('headings', el.identifier, 'Chapter ' .. part_number)
                    end
                    -- (List:extend returns nothing in pandoc 2.17.)
                    local content = pandoc.List()
                    if part:match('^appendix') then
                        content:extend({ pandoc.Str('Appendix'), pandoc.Space() })
                    end
                    content:extend({ pandoc.Span({ pandoc.Str(part_number) },
                        pandoc.Attr('', { 'chapter-number' })), pandoc.Space() })
                    content:extend(el.content)
                    el.content = content
                    return el, false
                end
            elseif is_figure(el) then
                return figure_para(el), false
            elseif el.t == 'Para' and el.content[1] and el.content[1].t == 'Str' and
                el.content[1].text:match('^:::') then
                -- A fence pandoc did not take for a div (in a list item it
                -- must be indented like the item's text): it would show.
                local text = pandoc.utils.stringify(el):sub(1, 40)
                fail('fenced div', '"' .. text .. '..." is shown as text, not taken for a div: ' ..
                    "indent the ::: lines like the list item's text (3 spaces after \"1. \")")
            elseif el.t == 'Div' and el.classes:includes('environment') then
                return environment_block(), false
            end
        end,
    })
    if top ~= 1 then
        fail('headings', 'a part of the book has exactly one top-level "#" heading; this one has ' .. top)
    end
    -- References to ids of this part.  A chapter or appendix is named with
    -- its title, which the assemble stage knows for every part.
    local local_labels = {}
    for id, text in pairs(labels) do
        if not (id:match('^ch:') or id:match('^app:')) then
            local_labels[id] = text
        end
    end
    doc = walk(doc, {
        Cite = function(el)
            return resolve_cite(el, local_labels)
        end,
    })
    local meta_labels = {}
    for id, text in pairs(labels) do
        meta_labels[id] = text
    end
    doc.meta['ipclab-labels'] = meta_labels
    doc.meta['ipclab-part'] = input
    doc.meta['ipclab-title'] = title
    doc.meta['ipclab-title-inlines'] = pandoc.MetaInlines(title_inlines)
    doc.meta['ipclab-index'] = pandoc.MetaList(index_entries)
    doc.blocks = number_hints(doc.blocks)
    if part:match('^%d%d%-') then
        check_shape()
    end

    local depfile = os.getenv('IPCLAB_BOOK_DEPFILE')
    if depfile and depfile ~= '' then
        write_depfile(os.getenv('IPCLAB_BOOK_TARGET') or (part .. '.json'), depfile)
    end
    return doc
end

-- ---------------------------------------------------------------------------
-- assemble stage
-- ---------------------------------------------------------------------------

local function assemble_stage(doc)
    local parts = {}
    for p in (os.getenv('IPCLAB_BOOK_PARTS') or ''):gmatch('%S+') do
        parts[#parts + 1] = p
    end
    if #parts == 0 then
        die('assemble: IPCLAB_BOOK_PARTS names no part')
    end

    local docs, sources, known, owner, titles, title_inlines = {}, {}, {}, {}, {}, {}
    local index = {}          -- every listing and figure, in order
    for i, p in ipairs(parts) do
        local text = read_file(p)
        if not text then
            die('assemble: cannot read ' .. p)
        end
        docs[i] = pandoc.read(text, 'json')
        local source = pandoc.utils.stringify(docs[i].meta['ipclab-part'] or p)
        sources[i] = source
        for id, value in pairs(docs[i].meta['ipclab-labels'] or {}) do
            if owner[id] then
                die('the id #' .. id .. ' is defined in ' .. owner[id] ..
                    ' and in ' .. source)
            end
            owner[id] = source
            known[id] = pandoc.utils.stringify(value)
        end
        local title = pandoc.utils.stringify(docs[i].meta['ipclab-title'] or '')
        for id, value in pairs(docs[i].meta['ipclab-labels'] or {}) do
            if id:match('^ch:') or id:match('^app:') then
                titles[id] = pandoc.utils.stringify(value) .. ', ' .. title
                title_inlines[id] = docs[i].meta['ipclab-title-inlines'] or pandoc.List({ pandoc.Str(title) })
            end
        end
        for _, entry in ipairs(docs[i].meta['ipclab-index'] or {}) do
            index[#index + 1] = entry
        end
    end

    -- The instructor's edition collects the hints into an appendix; the
    -- student's book drops them.
    local instructor = os.getenv('IPCLAB_BOOK_EDITION') == 'instructor'
    local hints = pandoc.List()

    -- Each part was read alone, so two may have the same heading id
    -- ("exercises"): later ones get a suffix, and their own links follow.
    local used, noted = {}, {}
    local blocks = pandoc.List()

    -- A reference to a chapter or an appendix: "Chapter 5, *The
    -- shared-memory counter race*", linked, in every format.  The link's
    -- own text must be what the heading calls the part ("Chapter 5",
    -- "chapter 5", "Appendix B"), so no reference names the wrong one.
    local current_source
    local function titled_link(el, id)
        local name = known[id]                       -- "Chapter 5", "Appendix B"
        local text = pandoc.utils.stringify(el.content)
        if text:lower() ~= name:lower() then
            die(current_source .. ': the link [' .. text .. '](#' .. id .. ') must say "' .. name ..
                '" (the title is added to it): write [' .. name .. '](#' .. id .. ')')
        end
        local content = pandoc.List({ pandoc.Str(text:match('^(%S+)')), pandoc.Space(),
            pandoc.Str(name:match('(%S+)$')), pandoc.Str(','), pandoc.Space(),
            pandoc.Emph(title_inlines[id]) })
        return pandoc.Link(content, '#' .. id, titles[id])
    end
    for i, d in ipairs(docs) do
        local renamed = {}
        local function rename(el)
            local id = el.identifier
            if id == '' then
                return nil
            end
            if used[id] then
                local n = 1
                while used[id .. '-' .. n] do
                    n = n + 1
                end
                renamed[id] = id .. '-' .. n
                el.identifier = renamed[id]
            end
            used[el.identifier] = true
            return el
        end
        current_source = sources[i]
        local body = walk(pandoc.Pandoc(d.blocks, d.meta), {
            Header = rename, Div = rename, CodeBlock = rename, Span = rename, Image = rename,
        })
        body = walk(body, {
            Div = function(el)
                if el.classes:includes('hint') then
                    if instructor then
                        local head = el.attributes['exercise'] ~= '' and el.attributes['exercise'] or
                            ('In ' .. sources[i])
                        hints:insert(pandoc.Para({ pandoc.Strong({ pandoc.Str(head .. ':') }) }))
                        hints:extend(el.content)
                    end
                    return {}
                end
            end,
            Link = function(el)
                local id = el.target:match('^#(.+)$')
                if id and renamed[id] then
                    el.target = '#' .. renamed[id]
                    return el
                end
                -- [Chapter 5](#ch:05) says "Chapter 5, *Its title*" (and the
                -- same as a tooltip); a chapter not in the book is plain text.
                if id and (id:match('^ch:%d%d$') or id:match('^app:%a$')) then
                    if titles[id] then
                        return titled_link(el, id)
                    end
                    if id:match('^app:') then
                        die(sources[i] .. ': the link to #' .. id .. ' (' .. pandoc.utils.stringify(el.content) ..
                            ') points at no appendix of the book')
                    end
                    local nn = id:match('%d%d')
                    if not noted[sources[i] .. nn] then
                        noted[sources[i] .. nn] = true
                        io.stderr:write('book: note: ' .. sources[i] .. ' refers to chapter ' .. nn ..
                            ', which is not in the book\n')
                    end
                    return pandoc.Span(el.content)
                end
            end,
            Cite = function(el)
                -- A chapter not in the book (yet) is named, not linked; a
                -- listing or figure that does not exist is an error.
                return resolve_cite(el, known, function(id)
                    local nn = id:match('^ch:(%d%d)$')
                    if not nn then
                        die(sources[i] .. ': [@' .. id ..
                            '] refers to nothing in the book\n')
                    end
                    if not noted[sources[i] .. nn] then
                        noted[sources[i] .. nn] = true
                        io.stderr:write('book: note: ' .. sources[i] .. ' refers to chapter ' .. nn ..
                            ', which is not in the book\n')
                    end
                    return pandoc.Str('Chapter ' .. tonumber(nn))
                end, function(id, link)
                    if id:match('^ch:') or id:match('^app:') then
                        return titled_link(link, id)
                    end
                    return link
                end)
            end,
        })
        blocks:extend(body.blocks)
    end

    -- The list of figures and listings, linked, at the end of the book.
    local figures, listings = pandoc.List(), pandoc.List()
    for _, entry in ipairs(index) do
        local item = pandoc.List({ pandoc.Link({ pandoc.Str(pandoc.utils.stringify(entry.label)) },
            '#' .. pandoc.utils.stringify(entry.id)), pandoc.Str(':'), pandoc.Space() })
        item:extend(entry.caption)
        if pandoc.utils.stringify(entry.kind) == 'Figure' then
            figures:insert({ pandoc.Plain(item) })
        else
            listings:insert({ pandoc.Plain(item) })
        end
    end
    if #figures + #listings > 0 then
        blocks:insert(pandoc.Header(1, { pandoc.Str('Figures'), pandoc.Space(), pandoc.Str('and'),
            pandoc.Space(), pandoc.Str('listings') }, pandoc.Attr('figures-and-listings', { 'unnumbered' })))
        blocks:insert(pandoc.Header(2, { pandoc.Str('Figures') }, pandoc.Attr('list-of-figures')))
        blocks:insert(pandoc.BulletList(figures))
        blocks:insert(pandoc.Header(2, { pandoc.Str('Listings') }, pandoc.Attr('list-of-listings')))
        blocks:insert(pandoc.BulletList(listings))
    end
    if instructor then
        blocks:insert(pandoc.Header(1, { pandoc.Str('Hints'), pandoc.Space(), pandoc.Str('for'),
            pandoc.Space(), pandoc.Str('instructors') }, pandoc.Attr('app:hints', { 'unnumbered' })))
        if #hints == 0 then
            hints:insert(pandoc.Para({ pandoc.Str('No exercise has a hint yet.') }))
        end
        blocks:extend(hints)
    end
    doc.blocks = blocks

    -- The title page says which sources the book was built from.
    -- IPCLAB_BOOK_VERSION is "2026-12-02 commit 1a2b3c4 [+ uncommitted changes]":
    -- the date becomes the book's date (an EPUB needs a real date there),
    -- the rest a line under the subtitle, with the edition.
    local date, version = (os.getenv('IPCLAB_BOOK_VERSION') or ''):match('^(%S+)%s+(.+)$')
    if date then
        local edition = pandoc.utils.stringify(doc.meta.edition or '')
        local line = (edition ~= '' and (edition .. ', ') or '') .. version ..
            (instructor and ', instructor\'s edition (with hints)' or '')
        if date:match('^%d%d%d%d%-%d%d%-%d%d$') then
            doc.meta.date = date
        end
        local subtitle = pandoc.List()
        if doc.meta.subtitle then
            subtitle:extend(doc.meta.subtitle)
            subtitle:insert(pandoc.LineBreak())
        end
        subtitle:insert(pandoc.Str(line))
        doc.meta.subtitle = pandoc.MetaInlines(subtitle)
    end
    return doc
end

-- ---------------------------------------------------------------------------
-- output stage
-- ---------------------------------------------------------------------------

local dot_version

-- The widest a diagram is shown (the PDF's text width, in pt), and the
-- smallest a label may print.  A diagram wider than TEXT_WIDTH is shrunk to
-- it, and its labels with it: a label prints at its font size times
-- min(1, TEXT_WIDTH / natural width).
local TEXT_WIDTH = 470
local TEXT_HEIGHT = 720
-- A diagram printed taller than this floats to the top of a page (PDF).
local TALL_FIGURE = 0.6 * TEXT_HEIGHT
local MIN_LABEL_PT = 8

-- Draws `text` (graphviz) as `format` into the cache, named by a hash of
-- what goes into it (graphviz version, format, source): a diagram is drawn
-- once, whatever else changes.  Returns the file.
local function draw_dot(text, format, where, what)
    if not dot_version then
        local f = io.popen('dot -V 2>&1', 'r')
        dot_version = f:read('a')
        f:close()
    end
    local cache = path.join({ book_dir, 'diagrams' })
    local file = path.join({ cache, pandoc.utils.sha1(dot_version .. '\0' .. format .. '\0' .. text) ..
        '.' .. format })
    if not read_file(file) then
        mkdir_p(cache)
        local ok, out = pcall(pandoc.pipe, 'dot', { '-T' .. format }, text)
        if not ok then
            die(where .. ': ' .. what .. ': dot failed: ' ..
                tostring(type(out) == 'table' and (out.error_code or out.output) or out))
        end
        if format == 'svg' then
            -- EPUB 3 forbids external entities: drop the SVG 1.1 DOCTYPE.
            out = out:gsub('<!DOCTYPE.->%s*', '', 1)
        end
        write_file(file, out)
    end
    return file
end

-- The natural width (pt) of a graphviz SVG, the smallest font size of its
-- labels (pt, after any scale= the graph applies), and its font families.
local function svg_measure(svg)
    local width = tonumber(svg:match('<svg[^>]-%swidth="([%d.]+)pt"') or '')
    local height = tonumber(svg:match('<svg[^>]-%sheight="([%d.]+)pt"') or '')
    local scale = tonumber(svg:match('<g id="graph0"[^>]-transform="scale%(([%d.]+)') or '') or 1
    local smallest
    for size in svg:gmatch('font%-size="([%d.]+)"') do
        size = tonumber(size)
        if size and (not smallest or size < smallest) then
            smallest = size
        end
    end
    local families, seen = {}, {}
    for family in svg:gmatch('font%-family="([^"]*)"') do
        if not seen[family] then
            seen[family] = true
            families[#families + 1] = family
        end
    end
    return width, smallest and smallest * scale, families, height
end

-- Every label of a diagram must print at MIN_LABEL_PT or more.  Checked on
-- the SVG drawing (the PDF one has the same layout), for every format.
local function check_legible(img, text, where)
    local svg = read_file(draw_dot(text, 'svg', where, 'diagram ' .. img.src))
    local width, smallest, families, height = svg_measure(svg or '')
    if not width or not smallest then
        return
    end
    local printed = smallest * math.min(1, TEXT_WIDTH / width)
    local file = img.attributes['ipclab-part'] or 'book'
    local line = img.attributes['ipclab-line']
    local at = line and (':' .. line) or ''
    if printed < MIN_LABEL_PT - 0.005 then
        complain(file, string.format('%s: diagram %s is %.0f pt wide, so it prints at %.0f pt ' ..
            '(x%.2f) and its smallest label (%.1f pt) prints at %.1f pt; at least %d pt is needed: ' ..
            'lay it out top to bottom (rankdir=TB), fontsize 10-12, natural width under about 400 pt ' ..
            '(dot -Tsvg %s | grep -o \'width="[0-9.]*pt"\')',
            at, img.src, width, math.min(width, TEXT_WIDTH), math.min(1, TEXT_WIDTH / width), smallest,
            printed, MIN_LABEL_PT, img.src))
    end
    -- The PDF also shrinks a diagram taller than the page (about 720 pt of
    -- text height): a warning, since the rule of the book is about width.
    if height and height > TEXT_HEIGHT and printed >= MIN_LABEL_PT and FORMAT == 'html5' and
        smallest * math.min(1, TEXT_WIDTH / width, TEXT_HEIGHT / height) < MIN_LABEL_PT then
        io.stderr:write(string.format('book: warning: %s%s: diagram %s is %.0f pt tall: shrunk to the ' ..
            'PDF page, its labels print below %d pt\n', file, at, img.src, height, MIN_LABEL_PT))
    end
    if #families > 1 and FORMAT == 'html5' then
        io.stderr:write('book: warning: ' .. file .. at .. ': diagram ' .. img.src .. ' mixes fonts (' ..
            table.concat(families, ', ') .. '): give graph, node and edge one fontname\n')
    end
    -- The height it prints at in the PDF.
    return height and math.min(height * math.min(1, TEXT_WIDTH / width), TEXT_HEIGHT)
end

-- Renders a diagram for this format (SVG, or PDF for LaTeX), after checking
-- that it prints legibly.
local function render_dot(img)
    local source = img.attributes['ipclab-part'] or 'book'
    local text = read_file(img.src)
    if not text then
        die(source .. ': cannot read the diagram ' .. img.src)
    end
    local height = check_legible(img, text, source)
    local format = FORMAT:match('latex') and 'pdf' or 'svg'
    return draw_dot(text, format, source, 'diagram ' .. img.src), height
end

-- Text for a fancyvrb environment with commandchars=\\\{\}: the three
-- command characters escaped, and quotes kept straight (what upquote.sty
-- would do; it is in texlive-latex-extra, which the book does without).
local function latex_verbatim(text)
    return (text:gsub('[\\{}\'`]', {
        ['\\'] = '\\textbackslash{}', ['{'] = '\\{', ['}'] = '\\}',
        ["'"] = '\\textquotesingle{}', ['`'] = '\\textasciigrave{}',
    }))
end

-- What a run printed, for LaTeX: the ConsoleOutput environment of
-- book/latex-header.tex, with the typed commands in bold.
local function latex_console(block)
    local lines, prompt = {}, {}
    for n in (block.attributes.prompts or ''):gmatch('%d+') do
        prompt[tonumber(n)] = true
    end
    for i, line in ipairs(lines_of(block.text)) do
        local escaped = latex_verbatim(line)
        if prompt[i] then
            escaped = '\\textbf{' .. escaped .. '}'
        end
        lines[#lines + 1] = escaped
    end
    return pandoc.RawBlock('latex', '\\begin{ConsoleOutput}\n' .. table.concat(lines, '\n') ..
        '\n\\end{ConsoleOutput}')
end

-- The same for HTML and EPUB: <pre class="console">, commands in <strong>.
local function html_console(block)
    local lines, prompt = {}, {}
    for n in (block.attributes.prompts or ''):gmatch('%d+') do
        prompt[tonumber(n)] = true
    end
    for i, line in ipairs(lines_of(block.text)) do
        local escaped = line:gsub('[&<>]', { ['&'] = '&amp;', ['<'] = '&lt;', ['>'] = '&gt;' })
        if prompt[i] then
            escaped = '<strong>' .. escaped .. '</strong>'
        end
        lines[#lines + 1] = escaped
    end
    return pandoc.RawBlock('html', '<pre class="console"><code>' .. table.concat(lines, '\n') ..
        '</code></pre>')
end

local function html_escape(text)
    return (text:gsub('[&<>]', { ['&'] = '&amp;', ['<'] = '&lt;', ['>'] = '&gt;' }))
end

-- A numbered listing for HTML and EPUB.  pandoc draws line numbers with CSS
-- counters, which some readers lose and which are not text; here each line
-- starts with its number (the file's own) as text, in a span that CSS keeps
-- out of a copy and paste.  The code is highlighted by pandoc as before.
local html_listings = 0
local function html_listing(block)
    html_listings = html_listings + 1
    local start = tonumber(block.attributes.startFrom or '1') or 1
    local id = 'src-' .. html_listings
    local classes = pandoc.List(block.classes):filter(function(c) return c ~= 'numberLines' end)
    local html = pandoc.write(pandoc.Pandoc({ pandoc.CodeBlock(block.text, pandoc.Attr(id, classes)) }),
        'html5')
    local function number(k)
        return '<span class="ln" aria-hidden="true">' .. (tonumber(k) + start - 1) .. '</span>'
    end
    local numbered, n = html:gsub('<a href="#' .. id:gsub('%-', '%%-') ..
        '%-(%d+)" aria%-hidden="true" tabindex="%-1"></a>', number)
    if n == 0 then
        -- No language, so no highlighting and no per-line spans.
        local lines = {}
        for k, line in ipairs(lines_of(block.text)) do
            lines[k] = '<span id="' .. id .. '-' .. k .. '">' .. number(k) .. html_escape(line) .. '</span>'
        end
        numbered = '<div class="sourceCode" id="' .. id .. '"><pre class="sourceCode"><code class="sourceCode">' ..
            table.concat(lines, '\n') .. '</code></pre></div>'
    end
    numbered = numbered:gsub('^<div class="sourceCode"', '<div class="sourceCode numbered"', 1)
    return pandoc.RawBlock('html', numbered)
end

-- A figure in LaTeX does not float: a float can drift past the exercises
-- to a page of its own.  The image and its caption stay together in a
-- minipage, where the text puts them.
local function latex_figure(para)
    local img = para.content[1]
    local caption = pandoc.write(pandoc.Pandoc({ pandoc.Plain(img.caption) }), 'latex'):gsub('%s+$', '')
    local target = img.identifier ~= '' and ('\\hypertarget{' .. img.identifier .. '}{}') or ''
    if img.attributes['ipclab-tall'] then
        -- A diagram of most of a page would leave the page before it
        -- nearly empty: it goes to the top of a page (this one if it fits,
        -- else the next) while the text fills the rest.
        img.attributes['ipclab-tall'] = nil
        return pandoc.RawBlock('latex', '\\begin{figure}[tp]\\centering' .. target ..
            '\n\\includegraphics{' .. img.src .. '}\\par\n\\caption{' .. caption .. '}\n\\end{figure}')
    end
    return pandoc.RawBlock('latex', '\\needlines{12}\n\\begin{center}\\begin{minipage}{\\linewidth}\\centering' ..
        target .. '\n\\includegraphics{' .. img.src .. '}\\par\n\\captionof{figure}{' .. caption ..
        '}\n\\end{minipage}\\end{center}')
end

local function output_stage(doc)
    local latex = FORMAT:match('latex') ~= nil
    return walk(doc, {
        Para = function(para)
            if latex and is_figure(para) then
                return latex_figure(para)
            end
        end,
        Div = function(div)
            if latex and div.classes:includes('listing') then
                return { pandoc.RawBlock('latex', '\\needlines{8}'), div }
            end
        end,
        Header = function(h)
            if latex and h.level >= 2 then
                return { pandoc.RawBlock('latex', '\\needlines{6}'), h }
            end
        end,
        CodeBlock = function(block)
            if block.classes:includes('console') then
                return latex and latex_console(block) or html_console(block)
            end
            if not latex and block.classes:includes('numberLines') then
                return html_listing(block)
            end
        end,
        -- [PHP 进程间通信]{pdf="a Chinese title"}: pdflatex has no fonts
        -- for every script; the PDF shows the pdf= text instead.
        Span = function(span)
            local alt = span.attributes['pdf']
            if alt then
                if latex then
                    return pandoc.Str(alt)
                end
                span.attributes['pdf'] = nil
                return span
            end
        end,
        Image = function(img)
            local src, height = img.src, nil
            if src:match('%.dot$') then
                src, height = render_dot(img)
            elseif latex and img.attributes['latex-src'] then
                src = img.attributes['latex-src']
            end
            img.attributes['latex-src'] = nil
            img.attributes['ipclab-part'] = nil
            img.attributes['ipclab-line'] = nil
            if latex and height and height > TALL_FIGURE then
                img.attributes['ipclab-tall'] = '1'
            end
            -- LaTeX runs in another directory.
            img.src = latex and absolute(src) or src
            return img
        end,
    })
end

function Pandoc(doc)
    if stage == 'part' then
        return part_stage(doc)
    elseif stage == 'assemble' then
        return assemble_stage(doc)
    elseif stage == 'output' then
        return output_stage(doc)
    end
    die('unknown IPCLAB_BOOK_STAGE "' .. stage .. '"')
end
