-- reserve: hold the requested seats for each of a batch of new holds, each
-- all or nothing, in order. The hot path: one EVALSHA for every reserve of
-- the event that an api instance had waiting (store/reserves.rs), so the
-- fence, the clock and the purge are paid once per batch; O(seats asked +
-- log n) per named-seat request.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV     six per request, in order:
--   hold id, user id, time to live in ms, most seats of the event the user
--   may hold (this request included), 's' (named seats) or 'b' (best
--   available), then the seat numbers comma-separated, distinct, in the
--   client's order ('s') or the count ('b')
--
-- Replies: {'not_loaded'} (nothing held for any: load the event and retry)
-- or {'each', length, reply..., length, reply..., ...}: for each request in
-- its order, how many words its reply has, then those words (flat: Redis
-- turns an array per request into its answer at about twice the cost,
-- docs/PERFORMANCE.md, "eleventh session"). A reply is, checked in this
-- order:
--   {'taken', seat, ...}            nothing held: these named seats are held,
--                                   pending or booked (none listed for 'b':
--                                   fewer seats are available than asked)
--   {'limit', held}                 nothing held: the user's live holds
--                                   already own `held` seats
--   {'held', created, expiry}       held, named seats (times: server ms)
--   {'held', created, expiry, seat, ...}   held, best available: the seats

local now, sec = clock()
local m = mirror_meta()
if not fenced(m, sec) then
  return { 'not_loaded' }
end
purge(now)

-- What the batch's holds write to the owners, the records and the expiry
-- index is gathered and written once, at the end: three commands per call
-- instead of three per request (each redis.call looks its command and key
-- up again). Seat states and users' counts are written at once, since the
-- next request reads them; what is gathered is read only through these
-- tables (a retry of a hold made by this call, best available's count,
-- the feed's).
local owned, records, expiries = {}, {}, {}
-- Hold id -> record, for a hold made by this call.
local made = {}

-- `f` that works each argument out once per call: the batch's requests
-- mostly share their numbers (docs/PERFORMANCE.md, "tenth session").
local function once(f)
  local known = {}
  return function(x)
    local y = known[x]
    if y == nil then
      y = f(x)
      known[x] = y
    end
    return y
  end
end

-- Numbers as command arguments (int() is a sprintf): the holds share
-- `now`, most of them their expiry, and their sizes are few.
local now_text, text = int(now), once(int)

-- The replies so far, and the index of the last word written.
local out, o = { 'each' }, 1

-- Appends a reply given as a table.
local function answer(words)
  local n = #words
  out[o + 1] = n
  for i = 1, n do
    out[o + 1 + i] = words[i]
  end
  o = o + 1 + n
end

-- The same hold id again is a retry of a reserve that landed (a cluster
-- client resends a command whose answer a failover lost): answer that hold
-- and hold nothing more. Named seats meet themselves taken, so only then
-- is it looked for; best available would pick other seats, so always.
local function again(id, user, kind)
  local rec = made[id] or redis.call('HGET', HOLDS, id)
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

-- A request's named seats, as text. One seat, the usual request, is
-- taken as it is: a pattern match makes an iterator and its state.
local function named(asked)
  if not string.find(asked, ',', 1, true) then
    return { asked }
  end
  local seats = {}
  for seat in string.gmatch(asked, '%d+') do
    seats[#seats + 1] = seat
  end
  return seats
end

local function reserve(id, user, ttl, max, kind, asked)
  -- The seats as strings, for commands; best available's also as numbers
  -- (`picked`), for the reply; `offsets`, their places in STATE as text,
  -- for SETRANGE one by one (not needed for a run of adjacent seats).
  local seats, offsets, picked, run
  if kind == 's' then
    seats, offsets = named(asked), {}
    -- Made only when a seat is taken: most requests find theirs free.
    local taken
    for i = 1, #seats do
      -- Beyond the event GETRANGE answers '': taken, never free.
      local at = int(seats[i] - 1)
      offsets[i] = at
      if redis.call('GETRANGE', STATE, at, at) ~= '0' then
        taken = taken or { 'taken' }
        taken[#taken + 1] = seats[i]
      end
    end
    if taken then
      return answer(again(id, user, kind) or taken)
    end
  else
    local retried = again(id, user, kind)
    if retried then
      return answer(retried)
    end
    picked, run = best(tonumber(asked), #owned / 2)
    if not picked then
      return answer({ 'taken' })
    end
    seats, offsets = {}, {}
    for i, seat in ipairs(picked) do
      seats[i] = int(seat)
      if not run then
        offsets[i] = int(seat - 1)
      end
    end
  end

  local k = #seats
  -- Counted first and taken back if over: a hold within the limit, the
  -- usual case, costs one command on the user's count instead of two.
  local held = redis.call('HINCRBY', USERS, user, text(k)) - k
  if held + k > max then
    user_lost(user, k)
    return answer({ 'limit', held })
  end

  local expiry = now + ttl
  if run then
    redis.call('SETRANGE', STATE, int(run - 1), string.rep('1', k))
  else
    for i = 1, k do
      redis.call('SETRANGE', STATE, offsets[i], '1')
    end
  end
  for i = 1, k do
    owned[#owned + 1] = seats[i]
    owned[#owned + 1] = id
  end
  local expiry_text = text(expiry)
  local rec = hold_record_of(user, now_text, expiry_text, '', table.concat(seats, ','))
  made[id] = rec
  records[#records + 1] = id
  records[#records + 1] = rec
  expiries[#expiries + 1] = expiry_text
  expiries[#expiries + 1] = id
  record(now, seats, 'held', m[6], #owned / 2)

  -- The usual reply, written without a table of its own: best
  -- available's names its seats after the times.
  local n = picked and 3 + k or 3
  out[o + 1], out[o + 2], out[o + 3], out[o + 4] = n, 'held', now, expiry
  for i = 4, n do
    out[o + 1 + i] = picked[i - 3]
  end
  o = o + 1 + n
end

-- The requests' times to live and limits (tonumber is a strtod).
local number = once(tonumber)

for i = 1, #ARGV, 6 do
  reserve(ARGV[i], ARGV[i + 1], number(ARGV[i + 2]), number(ARGV[i + 3]), ARGV[i + 4],
          ARGV[i + 5])
end
if #owned > 0 then
  redis.call('HSET', OWNERS, unpack(owned))
  redis.call('HSET', HOLDS, unpack(records))
  redis.call('ZADD', EXP, unpack(expiries))
end
keep_alive(now, m[5], false)
return out
