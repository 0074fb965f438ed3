-- wrk script for bench/soak.sh: every connection cycles through every
-- endpoint of bench/soak/app.rhai, keeps its session cookie for /counter,
-- and counts answers by status class so the summary can prove "zero failed".
--
--   wrk -t2 -c256 -d60s --timeout 10s -s bench/soak/mix.lua http://127.0.0.1:PORT
--
-- wrk runs one Lua state per thread: the counters below are per thread and
-- summed in done().

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local boundary = "soakBoundary7MA4YWxkTrZu0gW"
local upload_body = "--" .. boundary .. "\r\n"
  .. "Content-Disposition: form-data; name=\"f\"; filename=\"notes.txt\"\r\n"
  .. "Content-Type: text/plain\r\n\r\n"
  .. string.rep("soak upload line\n", 256)
  .. "\r\n--" .. boundary .. "--\r\n"

local cookie = nil
local n = 0

-- Counted in response(); read by done() through thread:get().
ok = 0
redirects = 0
client_errors = 0
server_errors = 0

local function build(i)
  local names = { "ann", "bob", "cy", "dee" }
  local name = names[(n % #names) + 1]
  if i == 1 then
    return wrk.format("GET", "/")
  elseif i == 2 then
    return wrk.format("GET", "/user/" .. name)
  elseif i == 3 then
    return wrk.format("GET", "/page/" .. name)
  elseif i == 4 then
    local headers = {}
    if cookie then headers["Cookie"] = cookie end
    return wrk.format("GET", "/counter", headers)
  elseif i == 5 then
    return wrk.format("POST", "/form",
      { ["Content-Type"] = "application/x-www-form-urlencoded" },
      "name=" .. name .. "&note=soak+test")
  elseif i == 6 then
    return wrk.format("GET", "/api/item/" .. (n % 1000))
  elseif i == 7 then
    return wrk.format("GET", "/static/style.css")
  else
    return wrk.format("POST", "/upload",
      { ["Content-Type"] = "multipart/form-data; boundary=" .. boundary },
      upload_body)
  end
end

function request()
  n = n + 1
  return build((n % 8) + 1)
end

function response(status, headers, body)
  local set = headers["Set-Cookie"]
  if set then
    cookie = string.match(set, "^([^;]*)")
  end
  if status < 300 then
    ok = ok + 1
  elseif status < 400 then
    redirects = redirects + 1
  elseif status < 500 then
    client_errors = client_errors + 1
  else
    server_errors = server_errors + 1
  end
end

function done(summary, latency, requests)
  local t = { ok = 0, redirects = 0, client_errors = 0, server_errors = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + (thread:get(k) or 0)
    end
  end
  local e = summary.errors
  io.write(string.format(
    "SOAK requests=%d duration_s=%.1f rps=%.0f ok=%d redirects=%d "
      .. "client_errors=%d server_errors=%d non2xx3xx=%d "
      .. "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d "
      .. "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.duration / 1e6,
    summary.requests / (summary.duration / 1e6),
    t.ok, t.redirects, t.client_errors, t.server_errors, e.status,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
