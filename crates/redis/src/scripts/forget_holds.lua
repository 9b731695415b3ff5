-- forget_holds: forget holds that can never be booked (the repo says their
-- booking was cancelled, or they were settled as never booked) which older
-- data brought back, pending or not, or that a reserve made after its
-- caller was told it failed (store/reserves.rs): free the seats each still
-- owns (a booked seat stays booked) and drop it. Idempotent; unknown ids are
-- skipped; harmless without a mirror, and run by loads before they end,
-- so not gated by the fence.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1..] hold ids
--
-- Replies: the number of holds forgotten.

local m = redis.call('HMGET', META, 'st', 'due')
if not m[1] then
  return 0
end
local now = clock()
purge(now)
local freed = {}
local forgotten = 0
for i = 1, #ARGV do
  local id = ARGV[i]
  local rec = redis.call('HGET', HOLDS, id)
  if rec then
    local h = parse_hold(rec)
    user_lost(h.user, free_owned(id, h.seats, freed))
    redis.call('HDEL', HOLDS, id)
    redis.call('ZREM', EXP, id)
    redis.call('ZREM', PENDING, id)
    forgotten = forgotten + 1
  end
end
back_on_sale(now, freed)
keep_alive(now, m[2], false)
return forgotten
