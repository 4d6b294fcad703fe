-- wrk script: POST the file $BODY with content type $CT and bearer token $TOKEN (if set).
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("CT") or "application/octet-stream"
local token = os.getenv("TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

-- With UNIQUE set, every request carries its own Idempotency-Key, so the hub takes each as a
-- new record (without it, every request after the first repeats the first and is answered as
-- a duplicate).
local unique = os.getenv("UNIQUE")
local n = 0
if unique and unique ~= "" then
  function setup(thread)
    n = n + 1
    thread:set("prefix", tostring(n) .. "-" .. tostring(os.time()))
  end
  local i = 0
  function request()
    i = i + 1
    wrk.headers["Idempotency-Key"] = prefix .. "-" .. i
    return wrk.format()
  end
end

-- Count answers that are not 200 or 202, so that a run of refusals is not mistaken for throughput.
local bad = 0
function response(status, headers, body)
  if status ~= 200 and status ~= 202 then bad = bad + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("non200 %d\n", bad))
end
