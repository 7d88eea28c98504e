-- wrk script of the benchmarks (bench/harness.py): replays requests from a file.
--
-- BENCH_REQUESTS names a file of records "<length>\n<raw HTTP request>". Thread i of
-- BENCH_THREADS sends records i, i+n, i+2n, ... each once (signed requests carry a nonce
-- that works once). With BENCH_CYCLE=1 every thread cycles through all of them instead,
-- from its own offset: a fixed request is one record, and a thread left without a record
-- would send nothing on its connections (the server holds a thread on each, then closes
-- it, which wrk counts as a read error). A thread that runs out stops and says so.
-- done() prints one "BENCH_JSON {...}" line: requests, duration, p50/p99 latency, counts
-- by status, socket errors, and the start of one unexpected answer.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("BENCH_THREADS"))
  cycle = os.getenv("BENCH_CYCLE") == "1"
  records = {}
  local f = assert(io.open(os.getenv("BENCH_REQUESTS"), "rb"))
  local i = 0
  while true do
    local header = f:read("*l")
    if not header then break end
    local raw = f:read(tonumber(header))
    if cycle or i % n == id then records[#records + 1] = raw end
    i = i + 1
  end
  f:close()
  position = cycle and #records > 0 and id % #records or 0
  exhausted = 0
  statuses = {}
  sample = ""
end

function request()
  position = position + 1
  if position > #records then
    if not cycle or #records == 0 then
      exhausted = 1
      wrk.thread:stop()
      return records[#records]
    end
    position = 1
  end
  return records[position]
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status >= 300 and sample == "" then sample = string.sub(body or "", 1, 300) end
end

local function quoted(s)
  return '"' .. s:gsub('\\', '\\\\'):gsub('"', '\\"'):gsub('[%c]', ' ') .. '"'
end

function done(summary, latency, requests)
  local statuses_all, exhausted_any, sample_any = {}, 0, ""
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("statuses")) do
      statuses_all[k] = (statuses_all[k] or 0) + v
    end
    exhausted_any = math.max(exhausted_any, thread:get("exhausted"))
    local s = thread:get("sample")
    if sample_any == "" and s ~= "" then sample_any = s end
  end
  local parts = {}
  for k, v in pairs(statuses_all) do parts[#parts + 1] = quoted(k) .. ":" .. v end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"statuses":{%s},"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"exhausted":%s,"sample":%s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    table.concat(parts, ","), e.connect, e.read, e.write, e.timeout,
    exhausted_any > 0 and "true" or "false", quoted(sample_any)))
end
