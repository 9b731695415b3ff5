-- extend: move a live, not pending hold's expiry later, capped at its
-- creation plus max_total. Acts on the record only, but gated by the
-- fence: data older than it claims may hold a record released since.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  hold id
-- ARGV[2]  asking user id
-- ARGV[3]  by, ms
-- ARGV[4]  max_total, ms
--
-- Replies, checked in this order:
--   {'not_loaded'} | {'not_found'} (unknown or expired) | {'not_owner'}
--   {'confirming'}
--   {'at_limit', record} (nothing changed) | {'extended', record}

local id, user = ARGV[1], ARGV[2]
local now, sec = clock()
local m = mirror_meta()
if not fenced(m, sec) then
  return { 'not_loaded' }
end
local rec = redis.call('HGET', HOLDS, id)
if not rec then
  return { 'not_found' }
end
local h = parse_hold(rec)
if h.since == '' and h.expiry <= now then
  return { 'not_found' }
end
if h.user ~= user then
  return { 'not_owner' }
end
if h.since ~= '' then
  return { 'confirming' }
end
local later = math.min(h.expiry + tonumber(ARGV[3]), h.created + tonumber(ARGV[4]))
if later <= h.expiry then
  return { 'at_limit', rec }
end
h.expiry = later
rec = hold_record(h)
redis.call('HSET', HOLDS, id, rec)
redis.call('ZADD', EXP, 'XX', later, id)
keep_alive(now, m[5], false)
return { 'extended', rec }
