-- reserve: hold every requested seat for one new hold, or none of them.
-- The hot path: one EVALSHA per reserve, O(seats requested + log n), no scans.
--
-- KEYS[1]  <p>:{e:<id>}:loaded     marker: the booked-seat mirror is loaded
-- KEYS[2]  <p>:{e:<id>}:seats      zset seat -> ms when it frees (inf: pending or booked)
-- KEYS[3]  <p>:{e:<id>}:owners     hash seat -> id of the hold that has it
-- KEYS[4]  <p>:{e:<id>}:hold:<id>  hash of the new hold: u user, s seats "1,2", x expiry ms
-- KEYS[5]  <p>:{e:<id>}:user:<u>   zset "<hold id>:<n>" -> expiry ms, one per seat the user holds
-- ARGV[1]  hold id
-- ARGV[2]  user id
-- ARGV[3]  time to live, ms
-- ARGV[4]  most seats of the event the user may hold, this request included
-- ARGV[5..] seat numbers, distinct, in the client's order (at most a few
--           thousand: they pass through Lua's unpack)
--
-- Replies, checked in this order:
--   {'not_loaded'}            nothing held: load the event and retry
--   {'taken', seat, ...}      nothing held: these seats are held, pending or booked
--   {'limit', held}           nothing held: the user already holds `held` live seats
--   {'held', expiry_ms}       every seat is held until expiry_ms (server clock)

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'not_loaded'}
end

-- Expiry is judged by this server's clock, so every api instance agrees.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local FIRST = 5
local n = #ARGV - FIRST + 1

-- A seat is taken while its score is in the future: an expired hold
-- blocks nothing, even before a write purges it.
local scores = redis.call('ZMSCORE', KEYS[2], unpack(ARGV, FIRST))
local taken = {'taken'}
for i = 1, n do
  local score = scores[i]
  if score and tonumber(score) > now then
    taken[#taken + 1] = ARGV[FIRST + i - 1]
  end
end
if #taken > 1 then
  return taken
end

-- Only the user's unexpired (or pending) seats count towards the limit.
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
local held = redis.call('ZCARD', KEYS[5])
if held + n > tonumber(ARGV[4]) then
  return {'limit', held}
end

local id = ARGV[1]
local ttl = tonumber(ARGV[3])
local expiry = now + ttl
-- Records outlive their expiry a little, so no script sees a record vanish
-- while its own clock still calls the hold live.
local keep = ttl + 1000

-- Purge lazily: expired seats leave the set on the next reserve.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local seat_scores, seat_owners, user_seats = {}, {}, {}
for i = 1, n do
  local seat = ARGV[FIRST + i - 1]
  seat_scores[2 * i - 1] = expiry
  seat_scores[2 * i] = seat
  seat_owners[2 * i - 1] = seat
  seat_owners[2 * i] = id
  user_seats[2 * i - 1] = expiry
  user_seats[2 * i] = id .. ':' .. i
end
redis.call('ZADD', KEYS[2], unpack(seat_scores))
redis.call('HSET', KEYS[3], unpack(seat_owners))
redis.call('HSET', KEYS[4], 'u', ARGV[2], 's', table.concat(ARGV, ',', FIRST), 'x', expiry)
redis.call('PEXPIRE', KEYS[4], keep)
redis.call('ZADD', KEYS[5], unpack(user_seats))
-- The user's set lives as long as their longest hold. held == 0 means the
-- set was just created; a set without a TTL (-1) has a pending hold.
if held == 0 then
  redis.call('PEXPIRE', KEYS[5], keep)
else
  local pttl = redis.call('PTTL', KEYS[5])
  if pttl >= 0 and pttl < keep then
    redis.call('PEXPIRE', KEYS[5], keep)
  end
end
return {'held', expiry}
