-- reserve: hold the requested seats for one new hold, or none of them.
-- The hot path: one EVALSHA, O(seats asked + log n) for named seats.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  hold id
-- ARGV[2]  user id
-- ARGV[3]  time to live, ms
-- ARGV[4]  most seats of the event the user may hold, this request included
-- ARGV[5]  's': named seats follow; 'b': best available, the count follows
-- ARGV[6..] seat numbers, distinct, in the client's order | the count
--
-- Replies, checked in this order:
--   {'not_loaded'}                  nothing held: load the event and retry
--   {'taken', seat, ...}            nothing held: these named seats are held,
--                                   pending or booked (none listed for 'b':
--                                   fewer seats are available than asked)
--   {'limit', held}                 nothing held: the user's live holds
--                                   already own `held` seats
--   {'held', created, expiry}       held, named seats (times: server ms)
--   {'held', created, expiry, seat, ...}   held, best available: the seats

local id, user, ttl, max, kind = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local FIRST = 6

local now, sec = clock()
local m = mirror_meta()
if not fenced(m, sec) then
  return { 'not_loaded' }
end
purge(now)

-- The same hold id again is a retry of a reserve that landed (a cluster
-- client resends a command whose answer a failover lost): answer that hold
-- and hold nothing more. Named seats meet themselves taken, so only then
-- is it looked for; best available would pick other seats, so always.
local function again()
  local rec = redis.call('HGET', HOLDS, id)
  if not rec then
    return nil
  end
  local h = parse_hold(rec)
  if h.user ~= user then
    return nil
  end
  local reply = { 'held', h.created, h.expiry }
  if kind ~= 's' then
    for seat in string.gmatch(h.seats, '%d+') do
      reply[#reply + 1] = tonumber(seat)
    end
  end
  return reply
end

local seats, run
if kind == 's' then
  local taken = { 'taken' }
  for i = FIRST, #ARGV do
    -- Beyond the event GETRANGE answers '': taken, never free.
    if redis.call('GETRANGE', STATE, ARGV[i] - 1, ARGV[i] - 1) ~= '0' then
      taken[#taken + 1] = ARGV[i]
    end
  end
  if #taken > 1 then
    return again() or taken
  end
  seats = { unpack(ARGV, FIRST) }
else
  local retried = again()
  if retried then
    return retried
  end
  seats, run = best(tonumber(ARGV[FIRST]))
  if not seats then
    return { 'taken' }
  end
end

local k = #seats
local held = tonumber(redis.call('HGET', USERS, user)) or 0
if held + k > max then
  return { 'limit', held }
end

local expiry = now + ttl
if run then
  redis.call('SETRANGE', STATE, run - 1, string.rep('1', k))
else
  for i = 1, k do
    redis.call('SETRANGE', STATE, seats[i] - 1, '1')
  end
end
local owned = {}
for i = 1, k do
  owned[2 * i - 1] = seats[i]
  owned[2 * i] = id
end
redis.call('HSET', OWNERS, unpack(owned))
redis.call('HSET', HOLDS, id, hold_record({ user = user, created = now, expiry = expiry,
                                            since = '', seats = table.concat(seats, ',') }))
redis.call('ZADD', EXP, expiry, id)
redis.call('HINCRBY', USERS, user, k)
record(now, seats, 'held', m[6])
keep_alive(now, m[5], false)

if kind == 's' then
  return { 'held', now, expiry }
end
local reply = { 'held', now, expiry }
for i = 1, k do
  reply[i + 3] = seats[i]
end
return reply
