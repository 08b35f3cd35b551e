-- wrk script: signed-in patients POSTing daily check-ins (bench/throughput.py writes the
-- data file and reads the BENCH_RESULT line).
--
--   wrk ... -s checkin.lua http://127.0.0.1:PORT -- <mode> <data file> <seed>
--
-- mode "checkin": POST /patients/<id>/check-in/ with a fresh submission_key each time;
-- about 80 % green, 15 % amber, 5 % red. mode "trivial": the same body, the same session,
-- to /bench/trivial/ (the same middleware, no work). Patients take turns, so each one
-- checks in only a few times in a run (as people do, daily), each with their own session
-- cookie and CSRF token. Every request goes as the TLS proxy would pass it on
-- (X-Forwarded-Proto: https, with the Referer that Django's CSRF check wants over HTTPS).

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("id", thread_count)
  table.insert(threads, thread)
end

local patients = {}
local templates = {}
local netloc = ""
local mode = "checkin"
local expected = 302
local turn = 0
unexpected = 0
first_bad = 0

local function split(line)
  local fields = {}
  for field in string.gmatch(line, "[^\t]+") do
    table.insert(fields, field)
  end
  return fields
end

function init(args)
  mode = args[1]
  local seed = tonumber(args[3]) or 1
  math.randomseed(seed + 7919 * (id or 1))
  for line in io.lines(args[2]) do
    local f = split(line)
    if f[1] == "H" then
      netloc = f[2]
    elseif f[1] == "P" then
      table.insert(patients, {id = f[2], csrf = f[4],
                              cookie = "sessionid=" .. f[3] .. "; csrftoken=" .. f[4]})
    elseif f[1] == "B" then
      templates[f[2]] = f[3]
    end
  end
  expected = (mode == "trivial") and 200 or 302
  turn = math.random(#patients)
end

local function uuid4()
  return string.format("%08x-%04x-4%03x-%04x-%04x%08x",
    math.random(0, 0x7fffffff) * 2 + math.random(0, 1), math.random(0, 0xffff),
    math.random(0, 0xfff), 0x8000 + math.random(0, 0x3fff), math.random(0, 0xffff),
    math.random(0, 0x7fffffff) * 2 + math.random(0, 1))
end

local function temperature(kind)
  if kind == "red" then
    return string.format("%.1f", 38.2 + math.random(0, 5) / 10)
  elseif kind == "amber" then
    return "37.0"
  end
  return string.format("%.1f", 36.1 + math.random(0, 11) / 10)
end

function request()
  turn = turn % #patients + 1
  local p = patients[turn]
  local roll = math.random()
  local kind = "green"
  if roll >= 0.95 then
    kind = "red"
  elseif roll >= 0.80 then
    kind = "amber"
  end
  local body = templates[kind]:gsub("{CSRF}", p.csrf):gsub("{KEY}", uuid4())
                              :gsub("{TEMP}", temperature(kind))
  local path = "/bench/trivial/"
  if mode == "checkin" then
    path = "/patients/" .. p.id .. "/check-in/"
  end
  return wrk.format("POST", path, {
    ["Host"] = netloc,
    ["Cookie"] = p.cookie,
    ["Referer"] = "https://" .. netloc .. path,
    ["X-Forwarded-Proto"] = "https",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
    if first_bad == 0 then
      first_bad = status
    end
  end
end

function done(summary, latency, requests)
  local bad, first = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("unexpected") or 0)
    if first == 0 then
      first = t:get("first_bad") or 0
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "timeouts": %d, "unexpected": %d, "first_bad_status": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout, bad, first))
end
