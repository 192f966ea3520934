-- wrk script for bench/ingest_vs_alertmanager.py: one alert (or one batch of events) per request.
--
-- Arguments after `--`: target deadline new_share prefix [routing_key] [batch_size]
--   target     "alertmanager" (POST /api/v2/alerts, one alert in an array),
--              "enqueue" (POST /v2/enqueue, one Events v2 trigger) or
--              "batch" (POST /integrations/<key>/batch, batch_size Events v2 triggers)
--   deadline   Unix time (seconds, fractional) after which no more alerts are sent: each
--              connection then only asks a cheap read every half second until wrk stops, so
--              that no write is cut off in flight and the 2xx counted here are exactly the
--              alerts the server took in
--   new_share  share of events that carry a dedup key not seen before (the rest repeat one
--              of this thread's earlier keys, picked uniformly)
--   prefix     starts every dedup key, so that runs against one server do not share keys
--
-- Keys are drawn from a per-thread random generator seeded with the thread's number, so a
-- run with the same options sends the same sequence of keys in each thread.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")

local function now()
  ffi.C.clock_gettime(0, clock) -- CLOCK_REALTIME, comparable with the deadline
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("number", counter)
  table.insert(threads, thread)
end

local target, deadline, new_share, prefix, routing_key, batch_size
local keys, key_count = {}, 0
-- Globals, not locals: done() reads them from each thread with thread:get().
accepted, failed, drained = 0, 0, 0
local write_path, drain_path, drain_marker

function init(args)
  target, deadline, new_share, prefix = args[1], tonumber(args[2]), tonumber(args[3]), args[4]
  routing_key, batch_size = args[5] or "", tonumber(args[6] or "1")
  math.randomseed(1000 + number)
  if target == "alertmanager" then
    -- A write is answered with an empty body; the health check with "OK".
    write_path, drain_path, drain_marker = "/api/v2/alerts", "/-/healthy", "OK"
  elseif target == "enqueue" then
    write_path = "/v2/enqueue"
    drain_path, drain_marker = "/integrations/openapi.json", '"openapi"'
  else
    write_path = "/integrations/" .. routing_key .. "/batch"
    drain_path, drain_marker = "/integrations/openapi.json", '"openapi"'
  end
end

local function next_key()
  if key_count == 0 or math.random() < new_share then
    key_count = key_count + 1
    keys[key_count] = prefix .. "-" .. number .. "-" .. key_count
    return keys[key_count]
  end
  return keys[math.random(key_count)]
end

local severities = { "critical", "error", "warning", "info" }

local function am_alert()
  local key = next_key()
  return '[{"labels":{"alertname":"DiskFull","instance":"' .. key .. '","job":"node","severity":"critical"},'
    .. '"annotations":{"summary":"Disk almost full on ' .. key .. '"},'
    .. '"generatorURL":"http://prometheus.example/graph"}]'
end

local function v2_event(with_key)
  local key = next_key()
  local head = with_key and ('{"routing_key":"' .. routing_key .. '",') or "{"
  return head .. '"event_action":"trigger","dedup_key":"' .. key .. '",'
    .. '"payload":{"summary":"Disk almost full on ' .. key .. '","source":"' .. key .. '",'
    .. '"severity":"' .. severities[math.random(4)] .. '","component":"disk","group":"node"}}'
end

local json_headers = { ["Content-Type"] = "application/json" }

function request()
  if now() >= deadline then
    return wrk.format("GET", drain_path)
  end
  local body
  if target == "alertmanager" then
    body = am_alert()
  elseif target == "enqueue" then
    body = v2_event(true)
  else
    local events = {}
    for i = 1, batch_size do
      events[i] = v2_event(false)
    end
    body = "[" .. table.concat(events, ",") .. "]"
  end
  return wrk.format("POST", write_path, json_headers, body)
end

function delay()
  if now() >= deadline then
    return 500 -- milliseconds: keep the connection quiet until wrk stops
  end
  return 0
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    if body ~= nil and string.find(body, drain_marker, 1, true) then
      drained = drained + 1
    else
      accepted = accepted + batch_size
    end
  else
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local totals = { accepted = 0, failed = 0, drained = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  io.write(string.format('BENCH {"accepted_events": %d, "failed_requests": %d, "drain_requests": %d, '
    .. '"requests": %d, "non_2xx": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    totals.accepted, totals.failed, totals.drained, summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
