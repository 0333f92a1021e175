-- One config's share of a scrape: its metrics collected from the batches
-- the core read, each failure costing only what it must (a metric's series
-- for a bug or a cut, the config's series for a users' decoder past its time
-- budget), and its counters, duration and budget brought up to date.
local ffi = require("ffi")
local clock = require("exporter.clock")
local cardinality = require("exporter.cardinality")
local collect = require("exporter.collect")
local config_counters = require("exporter.config_counters")
local decoders = require("exporter.decoders")
local guard = require("exporter.guard")
local log = require("exporter.log")
local scrape_budget = require("exporter.scrape_budget")

local M = {}

-- Puts back what the buffer held before a collection that failed half-way.
local function truncate(buf, before)
  local kept = buf:get(before)
  buf:reset()
  buf:put(kept)
end

local function is_overtime(err)
  return type(err) == "table" and getmetatable(err) == decoders.Overtime
end

-- If a metric fails half-way (a bug, or memory), or the scrape's time
-- budget cuts it (scrape_budget), the scrape loses that metric's series, not
-- its syntax: the buffer goes back to what it held before. A users' decoder
-- past its time budget stops the whole config (collect_config). Returns
-- whether the metric was collected.
local function collect_metric(plan, plan_state, batch, buf, stats)
  local before = #buf
  local ok, err = pcall(collect.metric, plan, plan_state, batch, buf, stats)
  if not ok then
    truncate(buf, before)
    if is_overtime(err) then
      error(err, 0)
    end
    if err == scrape_budget.CUT then
      stats.cut = true
    else
      log.error(("config %s, metric %s: %s"):format(plan.config, plan.name, tostring(err)))
    end
  end
  return ok
end

-- stats.success: every metric collected in full (no read error, no
-- failure, no cut).
local function collect_plans(cfg, c, buf)
  local stats = cfg.stats
  for i, plan in ipairs(cfg.plans) do
    local batch = c.batches[i - 1]
    stats.read_errors[plan.name] = tonumber(batch.read_errors)
    if plan.event then
      stats.lost[plan.name] = tonumber(batch.lost)
    end
    stats.cut = stats.cut or scrape_budget.spent()
    if stats.cut or batch.error ~= 0 or not collect_metric(plan, cfg.states[i], batch, buf, stats) then
      stats.success = false
    end
  end
end

-- One config's metrics from its batches, in a section of the guard: when a
-- users' decoder runs past the time budget, none of the config's series are
-- in this scrape, and the decoder is named in the log and in its errors. The
-- counters are the core's (a reload carries them over); read errors and lost
-- records come with each batch.
function M.collect(cfg, c, buf)
  local stats = cfg.stats
  local started, before, was_cut = clock.monotonic(), #buf, stats.cut
  stats.success, stats.cut = true, false
  guard.begin()
  local ok, err = pcall(collect_plans, cfg, c, buf)
  guard.finish()
  if not ok then
    truncate(buf, before)
    stats.success = false
    if is_overtime(err) then
      stats.decoder_errors = stats.decoder_errors + 1
      stats.errors_by_decoder[err.decoder] = (stats.errors_by_decoder[err.decoder] or 0) + 1
      log.error(("config %s: %s: its series are left out of this scrape"):format(cfg.name, err.message))
    else
      log.error(("config %s: %s"):format(cfg.name, tostring(err)))
    end
  end
  config_counters.sync(c.counters, stats, cfg.decoders, cfg.slots)
  cardinality.sync(c.counters, stats, cfg.plans)
  stats.duration = clock.monotonic() - started + tonumber(c.read_ns) * 1e-9
  scrape_budget.report(cfg, was_cut)
end

local function by_name(scrape)
  local configs = {}
  for i = 0, scrape.nconfigs - 1 do
    configs[ffi.string(scrape.configs[i].name)] = scrape.configs[i]
  end
  return configs
end

--- Collects into `buf` the configs of `all` (config states in order) that
-- the core read for this scrape (collect[] and exclude[] leave some out),
-- within the scrape's time budget: with one, cheapest first. Returns them.
function M.scrape(scrape, all, buf)
  local configs, present = by_name(scrape), {}
  for _, cfg in ipairs(all) do
    present[#present + 1] = configs[cfg.name] and cfg or nil
  end
  local deadline = tonumber(scrape.deadline)
  local order = scrape_budget.order(present, deadline)
  for i, cfg in ipairs(order) do
    scrape_budget.enter(deadline, #order - i + 1)
    M.collect(cfg, configs[cfg.name], buf)
    scrape_budget.leave()
  end
  return present
end

return M
