-- wrk script: the same call-log request with a different offset each time (0..4999), so that
-- every answer is computed, not taken from mockpbx's page memo. Once the 5,000 offsets have
-- been used, the window (start_date and end_date alike) moves back a second, so that no query
-- repeats even above 5,000 req/s (the memo keeps a page for the clock second it was made in).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local moved = dofile(here .. "window.lua").mover(wrk.path)
local counter = 0

request = function()
  counter = counter + 1
  return wrk.format(nil, moved(math.floor(counter / 5000), "&offset=" .. tostring((counter * 7919) % 5000)))
end
