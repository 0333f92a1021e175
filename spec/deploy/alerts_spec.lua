-- The alerting and recording rules: promtool checks them and runs their
-- unit tests, and every rule has tests that can fail. (dashboards_spec.lua
-- loads them into a real Prometheus scraping a real exporter.)
local deploy = require("helpers.deploy")

local DIR = "deploy/prometheus"
local ALERTS = DIR .. "/ebpf-lua-exporter-alerts.yml"
local RECORDING = DIR .. "/ebpf-lua-exporter-recording.yml"
local TESTS = DIR .. "/ebpf-lua-exporter-rules.test.yml"

local function rules(path)
  local list = {}
  for _, group in ipairs(deploy.yaml(path).groups) do
    for _, rule in ipairs(group.rules) do
      list[#list + 1] = rule
    end
  end
  return list
end

describe("the alerting and recording rules", function()
  it("pass promtool check rules", function()
    for _, path in ipairs({ ALERTS, RECORDING }) do
      local out, code = deploy.sh("promtool check rules " .. path)
      assert.equal(0, code, out)
      assert.equal(("Checking %s\n  SUCCESS: %d rules found\n\n"):format(path, #rules(path)), out)
    end
  end)

  it("pass their unit tests, promtool test rules", function()
    local out, code = deploy.sh("cd " .. DIR .. " && promtool test rules " .. TESTS:match("[^/]+$"))
    assert.equal(0, code, out)
    assert.equal("Unit Testing:  ebpf-lua-exporter-rules.test.yml\n  SUCCESS\n\n", out)
  end)

  it("are each tested: every alert firing and not yet firing, every recording exactly", function()
    local fired, quiet, recorded = {}, {}, {}
    for _, group in ipairs(deploy.yaml(TESTS).tests) do
      for _, t in ipairs(group.alert_rule_test or {}) do
        if #(t.exp_alerts or {}) > 0 then fired[t.alertname] = true else quiet[t.alertname] = true end
      end
      for _, t in ipairs(group.promql_expr_test or {}) do
        recorded[t.expr] = #t.exp_samples > 0 or nil
      end
    end
    for _, rule in ipairs(rules(ALERTS)) do
      assert.is_true(fired[rule.alert] or false, rule.alert .. " has no test where it fires")
      assert.is_true(quiet[rule.alert] or false, rule.alert .. " has no test where it does not fire yet")
      assert.equal("warning", rule.labels.severity, rule.alert)
      assert.is_string(rule.annotations.summary, rule.alert)
      assert.is_string(rule.annotations.description, rule.alert)
    end
    for _, rule in ipairs(rules(RECORDING)) do
      assert.is_true(recorded[rule.record] or false, rule.record .. " has no test")
    end
  end)

  it("select the job that the Kubernetes scrape configs give", function()
    local job = deploy.yaml("deploy/kubernetes/prometheus/scrape-config.yaml").scrape_configs[1].job_name
    assert.equal("ebpf-lua-exporter", job)
    for _, path in ipairs({ ALERTS, RECORDING }) do
      for _, rule in ipairs(rules(path)) do
        assert.is_truthy(rule.expr:find('job="' .. job .. '"', 1, true), rule.alert or rule.record)
      end
    end
  end)
end)
