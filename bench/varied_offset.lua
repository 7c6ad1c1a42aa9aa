-- wrk script: the same call-log request with a different offset each time (0..4999), so that
-- every answer is computed, not taken from mockpbx's page memo. Once the 5,000 offsets have
-- been used, the window (start_date and end_date alike) moves back a second, so that no query
-- repeats even above 5,000 req/s (the memo keeps a page for the clock second it was made in).
local counter = 0
local start_t, end_t, rest

local function parse(value)  -- "YYYY-MM-DD+HH%3AMM%3ASS" (urlencode's form) as seconds
  local y, mo, d, h, mi, s = value:match("(%d+)%-(%d+)%-(%d+)[+ ](%d+)%%3A(%d+)%%3A(%d+)")
  return os.time{year = tonumber(y), month = tonumber(mo), day = tonumber(d),
                 hour = tonumber(h), min = tonumber(mi), sec = tonumber(s)}
end

local function format(t)
  return (os.date("%Y-%m-%d+%H%%3A%M%%3A%S", t))
end

start_t = parse(wrk.path:match("start_date=([^&]+)"))
end_t = parse(wrk.path:match("end_date=([^&]+)"))
rest = wrk.path:gsub("start_date=[^&]*&?", ""):gsub("end_date=[^&]*&?", ""):gsub("&$", "")

request = function()
  counter = counter + 1
  local shift = math.floor(counter / 5000)
  return wrk.format(nil, rest .. "&offset=" .. tostring((counter * 7919) % 5000) ..
                    "&start_date=" .. format(start_t - shift) .. "&end_date=" .. format(end_t - shift))
end
