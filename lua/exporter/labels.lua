-- A metric's labels: the decoder chains that turn a raw key into label
-- values, what a failing decoder costs, and the label pairs of a series.
local api = require("exporter.decoder_api")
local exposition = require("exporter.exposition")
local scrape_budget = require("exporter.scrape_budget")

local M = {}

local SKIP, UNCACHED = api.SKIP, api.UNCACHED

--- Counts a decoder failure, which costs its row; the log gets each distinct
-- message once, so a broken decoder cannot flood it.
function M.decode_error(stats, plan, label, err)
  stats.decoder_errors = stats.decoder_errors + 1
  local msg = ("config %s, metric %s, label %s: %s"):format(plan.config, plan.name, label.name, tostring(err))
  if not stats.logged[msg] and stats.nlogged < 100 then
    stats.logged[msg] = true
    stats.nlogged = stats.nlogged + 1
    stats.log(msg)
  end
end

--- Runs every label's decoder chain over the raw key bytes (each label reads
-- its `size` bytes at its `offset`). Returns the list of label values (and
-- true when a decoder marked its answer UNCACHED), SKIP, or nil on a decoder
-- error. The registry's decode functions never raise and return a string
-- (maybe with UNCACHED), SKIP, or nil and a message.
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
        M.decode_error(stats, plan, label, err)
        return nil
      end
      uncached = uncached or err == UNCACHED
      v = out
    end
    values[i] = v
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
