-- hold: read one hold, if it is live (unexpired or pending).
--
-- KEYS[1]  <p>:{e:<id>}:hold:<id>  hash: u user, s seats "1,2", x expiry ms, p "1" if pending
--
-- Replies:
--   {'none'}                          unknown or expired
--   {'hold', user, seats, expiry_ms}

local rec = redis.call('HMGET', KEYS[1], 'u', 's', 'x', 'p')
if not rec[1] then
  return {'none'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if rec[4] ~= '1' and tonumber(rec[3]) <= now then
  return {'none'}
end
return {'hold', rec[1], rec[2], rec[3]}
