-- hold: read one hold, if it is live (unexpired, or pending). A read of a
-- record, not of seat state: it neither purges nor refreshes TTLs.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  hold id
--
-- Replies: {'none'} (unknown or expired) | {'hold', record}

local now = clock()
local rec = redis.call('HGET', HOLDS, ARGV[1])
if not rec then
  return { 'none' }
end
local h = parse_hold(rec)
if h.since == '' and h.expiry <= now then
  return { 'none' }
end
return { 'hold', rec }
