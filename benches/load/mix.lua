-- wrk script for benches/load/run: pushes, pulls, or a mix of both, on any of the paths.
--
--   PUSH_PATH, PUSH_BODY (a file), PUSH_CT, PUSH_TOKEN: the push. Every `{n}` in the body is
--     replaced by a number unique to the request (so every push is a new record: a new
--     dossier, a new event), also sent as its Idempotency-Key.
--   PULL_PATH (with `{id}`), PULL_TOKEN, IDS (a file, one personal ID per line): the pull, over
--     the IDs in turn.
--   PULL_EVERY: 0 = pushes only; 1 = pulls only; k = every k-th request is a pull (5 = 20%).
--   RUN: a prefix that keeps the numbers of one run apart from another's.
--
-- Prints one JSON line at the end: requests, seconds, errors (socket errors and answers of
-- 400 or more), latency percentiles in milliseconds.

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local push_path = env("PUSH_PATH", "/")
local push_ct = env("PUSH_CT", "application/json")
local push_token = env("PUSH_TOKEN", nil)
local pull_path = env("PULL_PATH", "/")
local pull_token = env("PULL_TOKEN", nil)
local every = tonumber(env("PULL_EVERY", "0"))
local run = env("RUN", tostring(os.time()))
local push_body = ""
if every ~= 1 then push_body = slurp(env("PUSH_BODY", "/dev/null")) end
local ids = {}
if every ~= 0 then
  for line in slurp(env("IDS", "/dev/null")):gmatch("[^\n]+") do ids[#ids + 1] = line end
  assert(#ids > 0, "IDS is empty")
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
end

local i = 0
local push_headers = { ["Content-Type"] = push_ct }
if push_token then push_headers["Authorization"] = "Bearer " .. push_token end
local pull_headers = {}
if pull_token then pull_headers["Authorization"] = "Bearer " .. pull_token end

function request()
  i = i + 1
  if every == 1 or (every > 1 and i % every == 0) then
    local id = ids[(i % #ids) + 1]
    return wrk.format("GET", (pull_path:gsub("{id}", id)), pull_headers, nil)
  end
  local n = run .. tid .. "x" .. i
  push_headers["Idempotency-Key"] = n
  return wrk.format("POST", push_path, push_headers, (push_body:gsub("{n}", n)))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "socket_errors": %d, "status_errors": %d, ' ..
    '"p50_ms": %.3f, "p99_ms": %.3f, "p999_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000))
end
