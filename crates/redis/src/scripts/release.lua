-- release: free the seats of a live, not pending hold, if the asker owns
-- it; only the seats it still owns (booked wins).
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  hold id
-- ARGV[2]  asking user id
--
-- Replies: 'not_loaded', 'released', 'not_found' (unknown, expired or
-- pending), 'not_owner'.

local id, user = ARGV[1], ARGV[2]
local now, sec = clock()
local m = mirror_meta()
if not fenced(m, sec) then
  return 'not_loaded'
end
purge(now)
local rec = redis.call('HGET', HOLDS, id)
if not rec then
  return 'not_found'
end
local h = parse_hold(rec)
if h.since ~= '' then
  return 'not_found'
end
if h.user ~= user then
  return 'not_owner'
end
local freed = {}
user_lost(h.user, free_owned(id, h.seats, freed))
back_on_sale(now, freed)
redis.call('HDEL', HOLDS, id)
redis.call('ZREM', EXP, id)
keep_alive(now, m[5], false)
return 'released'
