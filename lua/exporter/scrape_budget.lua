-- The time one scrape may take (struct elx_scrape.deadline: Prometheus's
-- scrape timeout less --web.timeout-offset). Configs are collected cheapest
-- first, by their last scrape, and each may run for its share of the time
-- left: what is left divided by the configs still to collect. A slow config
-- is cut when its share is spent and costs only itself; time the cheap ones
-- did not use goes to those after them.
local clock = require("exporter.clock")
local log = require("exporter.log")

local M = {}

-- Looked up at each call: specs replace the clock.
local function now()
  return clock.monotonic()
end

--- What check() raises when the share is spent: compare by identity.
M.CUT = setmetatable({}, { __tostring = function() return "the scrape's time budget ran out" end })

local share_ends -- when the config being collected must stop, or nil: no budget

--- Raises CUT when the config being collected has spent its share. Called
-- before each key is decoded (decoders are what may take long).
function M.check()
  if share_ends and now() >= share_ends then
    error(M.CUT, 0)
  end
end

--- Whether the config being collected has spent its share.
function M.spent()
  return share_ends ~= nil and now() >= share_ends
end

--- The order to collect `configs` in (each with stats.duration and
-- stats.cut): with a budget, those cut last time at the end and the others
-- cheapest first; without one, as they are.
function M.order(configs, deadline)
  local order = {}
  for i, cfg in ipairs(configs) do
    order[i] = cfg
  end
  if deadline == 0 then
    return order
  end
  local rank = {}
  for i, cfg in ipairs(order) do
    rank[cfg] = i
  end
  table.sort(order, function(a, b)
    if a.stats.cut ~= b.stats.cut then
      return not a.stats.cut
    end
    if a.stats.duration ~= b.stats.duration then
      return a.stats.duration < b.stats.duration
    end
    return rank[a] < rank[b]
  end)
  return order
end

--- Starts a config's collection: its share of what is left until
-- `deadline` (0: no budget), shared with the `remaining` configs (itself
-- included) still to collect.
function M.enter(deadline, remaining)
  if deadline == 0 then
    share_ends = nil
    return
  end
  local t = now()
  share_ends = t + math.max(deadline - t, 0) / remaining
end

function M.leave()
  share_ends = nil
end

--- A config cut by the budget says so once, and once when it is not any
-- more: `was_cut` is stats.cut before this scrape.
function M.report(cfg, was_cut)
  local stats = cfg.stats
  if stats.cut and not was_cut then
    log.warn(("config %s: not collected in full within the scrape's time budget; what was not is left "
      .. "out, and ebpf_exporter_scrape_success is 0"):format(cfg.name))
  elseif was_cut and not stats.cut then
    log.info(("config %s: collected within the scrape's time budget again"):format(cfg.name))
  end
end

return M
