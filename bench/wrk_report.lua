-- wrk script of bench/load.py. The arguments after "--" are Cookie header values, taken in turn
-- request by request (several sessions, as several users would be). Counts answers outside
-- 2xx/3xx and answers other than 200, and prints one JSON line when done.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for i, cookie in ipairs(args) do
    local headers = {}
    for name, value in pairs(wrk.headers) do
      headers[name] = value
    end
    headers["Cookie"] = cookie
    requests[i] = wrk.format(nil, nil, headers)
  end
  if #requests == 0 then
    requests[1] = wrk.format()
  end
  sent = 0
  bad_status = 0
  not_200 = 0
end

function request()
  sent = sent + 1
  return requests[sent % #requests + 1]
end

function response(status, headers, body)
  if status < 200 or status >= 400 then
    bad_status = bad_status + 1
  end
  if status ~= 200 then
    not_200 = not_200 + 1
  end
end

function done(summary, latency, requests)
  local bad, other = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("bad_status")
    other = other + thread:get("not_200")
  end
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.2f, "bytes": %d, ' ..
    '"latency_mean": %.6f, "latency_p50": %.6f, "latency_p95": %.6f, "latency_p99": %.6f, ' ..
    '"latency_max": %.6f, "errors": %d, "socket_errors": %d, "timeouts": %d, ' ..
    '"bad_status": %d, "not_200": %d}\n',
    summary.requests, seconds, summary.requests / seconds, summary.bytes,
    latency.mean / 1e6, latency:percentile(50) / 1e6, latency:percentile(95) / 1e6,
    latency:percentile(99) / 1e6, latency.max / 1e6, socket + bad, socket, e.timeout,
    bad, other))
end
