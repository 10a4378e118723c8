-- wrk script: one tap per request, as the kiosk screen's form posts it. Counts answers
-- other than 303 (the thank-you redirect, sent after the tap is durable).
local threads = {}

function setup(thread) table.insert(threads, thread) end

function init(args) bad, used = 0, 0 end

function request()
  return wrk.format("POST", "/tap", { ["Content-Type"] = "application/x-www-form-urlencoded" }, "rating=3&lang=en")
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
end
