-- A metric's labels: the decoder chains that turn a raw key into label
-- values, what a failing decoder costs, and the label pairs of a series.
local api = require("exporter.decoder_api")
local decoders = require("exporter.decoders")
local exposition = require("exporter.exposition")
local scrape_budget = require("exporter.scrape_budget")
local utf8 = require("exporter.utf8")

local M = {}

local SKIP, UNCACHED = api.SKIP, api.UNCACHED
local is_ascii = utf8.is_ascii

--- Counts a failure of decoder `decoder` (a name), which costs its row, in
-- stats.decoder_errors and stats.errors_by_decoder; the log gets each
-- distinct message once, so a broken decoder cannot flood it.
function M.decode_error(stats, plan, label, decoder, err)
  stats.decoder_errors = stats.decoder_errors + 1
  local by = stats.errors_by_decoder
  if by then
    by[decoder] = (by[decoder] or 0) + 1
  end
  local msg = ("config %s, metric %s, label %s: %s"):format(plan.config, plan.name, label.name, tostring(err))
  if not stats.logged[msg] and stats.nlogged < 100 then
    stats.logged[msg] = true
    stats.nlogged = stats.nlogged + 1
    stats.log(msg)
  end
end

-- A value that is not valid UTF-8 is repaired (exporter.utf8) and counted
-- in stats.invalid_utf8.
local function valid_value(v, stats)
  if not is_ascii(v) then
    local fixed, replaced = utf8.repair(v)
    if replaced > 0 then
      stats.invalid_utf8 = (stats.invalid_utf8 or 0) + 1
      return fixed
    end
  end
  return v
end

-- Within one pass over a batch's missed keys, a label's input often
-- repeats (a cgroup id, a port, a histogram's bucket among many other keys):
-- its chain's answer is remembered, so each distinct input is decoded, and
-- its value checked, once per pass. Not remembered: answers a decoder marked
-- UNCACHED, values UTF-8 repair changed (each row counts in invalid_utf8),
-- errors (each row counts). A label whose inputs do not repeat (PROBE tries,
-- fewer than a quarter found) stops being remembered for the pass; a plan of
-- one label has nothing to remember.
local PROBE, MAX_REMEMBERED = 512, 16384

-- Raised by the fast decode function for a built-in decoder's answer that
-- is no string or too long: the safe one says what is wrong with it.
local RECHECK = "a built-in decoder's answer to check"

local function new_memo(nlabels)
  return { n = nlabels, tables = {}, tries = {}, hits = {}, sizes = {} }
end

local function recall(memo, i, v)
  local t = memo.tables[i]
  if not t then return nil end
  local hit, tries = t[v], memo.tries[i] + 1
  memo.tries[i] = tries
  if hit ~= nil then
    memo.hits[i] = memo.hits[i] + 1
  elseif tries == PROBE and memo.hits[i] * 4 < tries then
    memo.tables[i] = false
  end
  return hit
end

local function remember(memo, i, v, answer)
  local t = memo.tables[i]
  if t and memo.sizes[i] < MAX_REMEMBERED then
    t[v], memo.sizes[i] = answer, memo.sizes[i] + 1
  end
end

-- A plan's decoding as one function without loops, made from source once
-- per plan: every label's chain unrolled. Loops over one or two labels and
-- decoders inside the loop over a batch's misses get LuaJIT to abort and
-- then blacklist the traces (the interpreter ran a third of a cold scrape).
local compiled = setmetatable({}, { __mode = "k" })

-- One label's chain, from its input `v` to values[i]; with `memo`, its
-- answers remembered within a pass (begin_pass); with `direct`, built-in
-- decoders called directly.
local function chain_source(src, i, label, decs, names, memo, direct)
  src[#src + 1] = ("  v = raw:sub(%d, %d)\n"):format(label.offset + 1, label.offset + label.size)
  src[#src + 1] = memo and ("  hit = recall(M, %d, v)\n  if hit == SKIP then return SKIP end\n"
    .. "  if hit then\n    values[%d] = hit\n  else\n"):format(i, i) or "  do\n"
  src[#src + 1] = "    input, u = v, false\n"
  local ascii = false
  for _, d in ipairs(label.decoders) do
    local call_direct = direct and d.direct
    decs[#decs + 1], names[#names + 1], ascii = call_direct or d.decode, d.name, d.ascii
    src[#src + 1] = ("    out, err = D[%d](v)\n    if out == SKIP then %sreturn SKIP end\n"
      .. "    if out == nil then fail(stats, plan, L[%d], N[%d], err) return nil end\n"
      .. "%s    if err == UNCACHED then u = true end\n    v = out\n"):format(#decs,
      memo and ("if not u then remember(M, %d, input, SKIP) end "):format(i) or "", i, #decs,
      -- What the checked form would refuse: the caller decodes the key again through it.
      call_direct and "    if type(out) ~= 'string' or #out > MAX then error(RECHECK) end\n" or "")
  end
  src[#src + 1] = ascii and "    x = v\n" or "    x = valid(v, stats)\n"
  src[#src + 1] = memo
    and ("    if u then uncached = true elseif x == v then remember(M, %d, input, x) end\n"):format(i)
    or "    if u then uncached = true end\n"
  src[#src + 1] = ("    values[%d] = x\n  end\n"):format(i)
end

local function unrolled(plan, memo, direct)
  local src, decs, names = { "local SKIP, UNCACHED, fail, valid, L, D, N, M, recall, remember, MAX, RECHECK = ...\n",
    "return function(plan, raw, stats, values)\n  local uncached, v, out, err, hit, input, u, x = false\n" }, {}, {}
  for i, label in ipairs(plan.labels) do
    chain_source(src, i, label, decs, names, direct and memo.n > 0, direct)
  end
  src[#src + 1] = "  return values, uncached\nend\n"
  local chunk = assert(loadstring(table.concat(src), "=labels(" .. plan.name .. ")"))
  return chunk(SKIP, UNCACHED, M.decode_error, valid_value, plan.labels, decs, names, memo, recall, remember,
    decoders.MAX_VALUE, RECHECK)
end

-- A plan's two decode functions: `fast` calls built-in decoders directly,
-- remembers answers, and is used only within a pass, whose caller takes a
-- raise back (M.safely); `safe` calls every decoder through the registry's
-- checked form and remembers nothing, so that an answer the checks would
-- refuse is never served from the memo.
local function compiled_for(plan)
  local c = compiled[plan]
  if not c then
    -- One label: two keys of a batch differ, so its inputs do too.
    local memo = new_memo(#plan.labels > 1 and #plan.labels or 0)
    c = { memo = memo, safe = unrolled(plan, memo, false), fast = unrolled(plan, memo, true), passing = false }
    compiled[plan] = c
  end
  return c
end

--- Starts a pass of decode calls over one batch's keys: from here to
-- end_pass, answers for a label's repeated inputs are remembered, and
-- built-in decoders are called without a pcall each: a raise from one goes
-- up to the caller, which decodes that key again through M.safely.
function M.begin_pass(plan)
  local c = compiled_for(plan)
  local memo = c.memo
  for i = 1, memo.n do
    memo.tables[i], memo.tries[i], memo.hits[i], memo.sizes[i] = {}, 0, 0, 0
  end
  c.passing = true
end

--- Ends a pass: nothing is remembered past it.
function M.end_pass(plan)
  local c = compiled_for(plan)
  for i = 1, c.memo.n do
    c.memo.tables[i] = false
  end
  c.passing = false
end

--- Whether `err`, raised within a pass, must end it: the scrape's time is
-- up, or a users' decoder ran past its budget. Anything else may be a
-- built-in decoder's raise, which costs only its key (M.safely).
function M.ends_pass(err)
  return err == scrape_budget.CUT or (type(err) == "table" and getmetatable(err) == decoders.Overtime)
end

--- pcall(fn, ...) with every decoder of the plan called through its checked
-- form, in the pass under way: a raise from a decoder becomes that row's
-- decoder error.
function M.safely(plan, fn, ...)
  local c = compiled_for(plan)
  c.passing = false
  local ok, err = pcall(fn, ...)
  c.passing = true
  return ok, err
end

--- Runs every label's decoder chain over the raw key bytes (each label reads
-- its `size` bytes at its `offset`). Returns the list of label values, all
-- valid UTF-8 (and true when a decoder marked its answer UNCACHED), SKIP, or
-- nil on a decoder error. The registry's decode functions return a string
-- (maybe with UNCACHED), SKIP, or nil and a message; they raise only when a
-- users' decoder ran past its time budget (decoders.Overtime). With `into`,
-- the values go into that table (scratch the caller reuses) and not a new one.
-- A chain whose last decoder is a built-in one that answers only ASCII
-- (decoders.lua, ascii_only) skips the UTF-8 check. Between begin_pass and
-- end_pass a label's repeated input is decoded once.
function M.decode(plan, raw, stats, into)
  scrape_budget.check() -- a slow decoder is where a scrape runs out of time
  local c = compiled_for(plan)
  return (c.passing and c.fast or c.safe)(plan, raw, stats, into or {})
end

--- The order a series writes its labels in: by name, as client_golang
-- writes them (ebpf_exporter's output is sorted that way), leaving out label
-- `skip` (a histogram's bucket). { index = {label index...}, names = {...} }
function M.sorted(labels, skip)
  local index = {}
  for i in ipairs(labels) do
    if i ~= skip then
      index[#index + 1] = i
    end
  end
  table.sort(index, function(a, b) return labels[a].name < labels[b].name end)
  local names = {}
  for j, i in ipairs(index) do
    names[j] = labels[i].name
  end
  return { index = index, names = names }
end

--- 'a="x",b="y"': the label pairs of decoded values, in `sorted` order.
function M.pairs_text(sorted, values)
  local picked = {}
  for j, i in ipairs(sorted.index) do
    picked[j] = values[i]
  end
  return exposition.label_pairs(sorted.names, picked)
end

return M
