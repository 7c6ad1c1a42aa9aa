-- wrk script: the same call-log request with a different offset each time (0..4999),
-- so that every answer is computed, not taken from mockpbx's page memo.
local counter = 0
request = function()
  counter = counter + 1
  local path = wrk.path .. "&offset=" .. tostring((counter * 7919) % 5000)
  return wrk.format(nil, path)
end
