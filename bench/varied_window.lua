-- wrk script: the call-log request with its window (start_date and end_date alike) moved back
-- 3 s more on each request, so that no two requests ask for the same page: each is computed,
-- not taken from mockpbx's page memo. The rest of the query (limit, source) is kept.
local counter = 0
local start_t, end_t, rest

-- "YYYY-MM-DD+HH%3AMM%3ASS" (as urlencode writes it) as seconds; os.time and os.date agree
-- on the zone, so the shifted wall-clock times are exact.
local function parse(value)
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
  local shift = (counter % 100000) * 3
  return wrk.format(nil, rest .. "&start_date=" .. format(start_t - shift) .. "&end_date=" .. format(end_t - shift))
end
