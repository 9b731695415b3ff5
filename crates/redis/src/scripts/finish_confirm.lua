-- finish_confirm: the booking is durable, so mark its seats booked by it
-- and forget the hold. Idempotent. Marks the seats even when the hold
-- record is gone, and while a load runs (its read may predate this
-- booking); does nothing when the event has no mirror at all (`meta`
-- gone), as the next load reads the booking from the source of truth.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  hold id (= booking id)
-- ARGV[2..] the hold's seat numbers
--
-- Replies: 1 when the seats are marked, 0 when there is no mirror.

local id = ARGV[1]
local m = redis.call('HMGET', META, 'st', 'n', 'due')
if not m[1] then
  return 0
end
local now = clock()
purge(now)
local n = tonumber(m[2]) or 0
local users_of = {}
local rec = redis.call('HGET', HOLDS, id)
local h = rec and parse_hold(rec)
if h then
  users_of[id] = h.user
end
local newly = {}
for i = 2, #ARGV do
  if redis.call('HGET', BOOKED, ARGV[i]) ~= id then
    newly[#newly + 1] = ARGV[i]
  end
  book(tonumber(ARGV[i]), id, n, users_of)
end
record(now, newly, 'booked')
if h then
  -- Seats of the record not in the booking (none, normally) go free.
  local freed = {}
  user_lost(h.user, free_owned(id, h.seats, freed))
  back_on_sale(now, freed)
  redis.call('HDEL', HOLDS, id)
end
redis.call('ZREM', EXP, id)
redis.call('ZREM', PENDING, id)
keep_alive(now, m[3], false)
return 1
