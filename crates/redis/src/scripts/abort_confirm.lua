-- abort_confirm: the booking was not written, so put a pending hold back:
-- held again until its original expiry, or freed at once if that has
-- passed. Frees only seats the hold still owns. Idempotent: a hold that is
-- not pending, or gone, is left alone.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  hold id
--
-- Replies: 'held' (back until its expiry), 'freed' (it had expired),
--          'noop' (not pending, or gone).

local id = ARGV[1]
local now = clock()
redis.call('ZREM', PENDING, id)
local rec = redis.call('HGET', HOLDS, id)
if not rec then
  return 'noop'
end
local h = parse_hold(rec)
if h.since == '' then
  return 'noop'
end
h.since = ''
redis.call('HSET', HOLDS, id, hold_record(h))
-- Back among the expiring holds; if its expiry has passed, the purge
-- frees it now.
redis.call('ZADD', EXP, h.expiry, id)
purge(now)
keep_alive(now, redis.call('HGET', META, 'due'), false)
if h.expiry <= now then
  return 'freed'
end
return 'held'
