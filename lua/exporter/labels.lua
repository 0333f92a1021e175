-- A metric's labels: the decoder chains that turn a raw key into label
-- values, what a failing decoder costs, and the label pairs of a series.
local api = require("exporter.decoder_api")
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

--- Runs every label's decoder chain over the raw key bytes (each label reads
-- its `size` bytes at its `offset`). Returns the list of label values, all
-- valid UTF-8 (and true when a decoder marked its answer UNCACHED), SKIP, or
-- nil on a decoder error. The registry's decode functions return a string
-- (maybe with UNCACHED), SKIP, or nil and a message; they raise only when a
-- users' decoder ran past its time budget (decoders.Overtime).
function M.decode(plan, raw, stats)
  scrape_budget.check() -- a slow decoder is where a scrape runs out of time
  local values, uncached = {}, false
  for i, label in ipairs(plan.labels) do
    local v = raw:sub(label.offset + 1, label.offset + label.size)
    for _, d in ipairs(label.decoders) do
      local out, err = d.decode(v)
      if out == SKIP then
        return SKIP
      elseif out == nil then
        M.decode_error(stats, plan, label, d.name, err)
        return nil
      end
      uncached = uncached or err == UNCACHED
      v = out
    end
    values[i] = valid_value(v, stats)
  end
  return values, uncached
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
