-- begin_confirm: move a live hold to pending, so it cannot expire while its
-- booking is written. Idempotent: a pending hold answers 'pending' again.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  hold id
-- ARGV[2]  asking user id
--
-- Replies: {'not_loaded'} | {'not_found'} (unknown or expired) |
--          {'not_owner'} | {'pending', record}

local id, user = ARGV[1], ARGV[2]
local now, sec = clock()
local m = mirror_meta()
if not fenced(m, sec) then
  return { 'not_loaded' }
end
purge(now)
local rec = redis.call('HGET', HOLDS, id)
if not rec then
  return { 'not_found' }
end
local h = parse_hold(rec)
if h.user ~= user then
  return { 'not_owner' }
end
if h.since == '' then
  -- Its seats stay owned (and '1' in the state); it only stops expiring.
  h.since = tostring(now)
  rec = hold_record(h)
  redis.call('HSET', HOLDS, id, rec)
  redis.call('ZREM', EXP, id)
  redis.call('ZADD', PENDING, now, id)
end
keep_alive(now, m[5], false)
return { 'pending', rec }
