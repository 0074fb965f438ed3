-- wrk script for deploy/run.sh: the load that runs through nginx during the
-- rolling restart. Each connection cycles GET /, GET /whoami and GET /counter
-- (with its thread's session cookie) and POST /form; done() prints one
-- LOAD line that run.sh checks for zero failures.

local cookie = nil
local n = 0

function request()
  n = n + 1
  local i = n % 4
  local headers = {}
  if cookie then headers["Cookie"] = cookie end
  if i == 0 then
    return wrk.format("GET", "/", headers)
  elseif i == 1 then
    return wrk.format("GET", "/whoami", headers)
  elseif i == 2 then
    return wrk.format("GET", "/counter", headers)
  else
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", "/form", headers, "name=load" .. n)
  end
end

function response(status, headers, body)
  local set = headers["Set-Cookie"]
  if set then cookie = string.match(set, "^([^;]*)") end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "LOAD requests=%d rps=%.0f non2xx3xx=%d connect_errors=%d read_errors=%d "
      .. "write_errors=%d timeouts=%d p99_ms=%.1f max_ms=%.1f\n",
    summary.requests, summary.requests / (summary.duration / 1e6), e.status,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(99) / 1000, latency.max / 1000))
end
