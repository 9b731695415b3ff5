-- hold: read one hold, if it is live (unexpired, or pending). A read of a
-- record, not of seat state: it neither purges nor refreshes TTLs. Gated
-- by the fence all the same: data older than it claims may hold a record
-- released since.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  hold id
--
-- Replies: {'not_loaded'} | {'none'} (unknown or expired) | {'hold', record}

local now, sec = clock()
if not fenced(mirror_meta(), sec) then
  return { 'not_loaded' }
end
local rec = redis.call('HGET', HOLDS, ARGV[1])
if not rec then
  return { 'none' }
end
local h = parse_hold(rec)
if h.since == '' and h.expiry <= now then
  return { 'none' }
end
return { 'hold', rec }
