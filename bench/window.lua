-- Shared by varied_offset.lua and varied_window.lua (wrk loads it with dofile): the benchmarked
-- call-log path with its window (start_date and end_date alike) moved back by some seconds.
local M = {}

-- "YYYY-MM-DD+HH%3AMM%3ASS" (as urlencode writes it) as seconds; os.time and os.date agree on
-- the zone, so the shifted wall-clock times are exact.
local function parse(value)
  local y, mo, d, h, mi, s = value:match("(%d+)%-(%d+)%-(%d+)[+ ](%d+)%%3A(%d+)%%3A(%d+)")
  return os.time{year = tonumber(y), month = tonumber(mo), day = tonumber(d),
                 hour = tonumber(h), min = tonumber(mi), sec = tonumber(s)}
end

local function format(t)
  return (os.date("%Y-%m-%d+%H%%3A%M%%3A%S", t))
end

-- A function(shift, extra) giving `path` with `extra` added and its window moved back `shift` s.
function M.mover(path)
  local start_t = parse(path:match("start_date=([^&]+)"))
  local end_t = parse(path:match("end_date=([^&]+)"))
  local rest = path:gsub("start_date=[^&]*&?", ""):gsub("end_date=[^&]*&?", ""):gsub("&$", "")
  return function(shift, extra)
    return rest .. extra .. "&start_date=" .. format(start_t - shift) .. "&end_date=" .. format(end_t - shift)
  end
end

return M
