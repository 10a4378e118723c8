-- wrk script: POST a complaint per request, each with its own pre-fetched stamp.
-- Counts answers other than 303 (the success redirect) and reports them at the end.
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  stamps = {}
  for line in io.lines(os.getenv("STAMPS")) do stamps[#stamps + 1] = line end
  n, bad, used = 0, 0, 0
  stride = tonumber(os.getenv("THREADS") or "2")
  boundary = "mendbenchboundary"
  path = os.getenv("FORM_PATH")
end

local function field(name, value)
  return "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name .. "\"\r\n\r\n" .. value .. "\r\n"
end

function request()
  local i = (n * stride + id - 1) % #stamps + 1
  n = n + 1
  local body = field("stamp", stamps[i]) .. field("lang", "en") .. field("category", "cleanliness")
    .. field("body", "Benchmark complaint: the restroom has no soap.") .. "--" .. boundary .. "--\r\n"
  return wrk.format("POST", path, { ["Content-Type"] = "multipart/form-data; boundary=" .. boundary }, body)
end

function response(status, headers, body)
  if status ~= 303 then bad = bad + 1 end
  used = used + 1
end

function done(summary, latency, requests)
  local total_bad, total = 0, 0
  for _, t in ipairs(threads) do
    total_bad = total_bad + t:get("bad")
    total = total + t:get("used")
  end
  io.write(string.format("answers other than 303: %d of %d\n", total_bad, total))
  local available = 0
  for _ in io.lines(os.getenv("STAMPS")) do available = available + 1 end
  if total > available then
    io.write(string.format("WARNING: %d posts but only %d stamps: %d were repeats\n", total, available, total - available))
  end
end
