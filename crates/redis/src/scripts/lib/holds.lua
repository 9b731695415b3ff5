-- lib/holds.lua: hold records, the per-user counts, and freeing what
-- expired. A record is "user TAB created TAB expiry TAB pending-since or
-- empty TAB seats", times in ms (user ids hold no control characters).

local function parse_hold(rec)
  local user, created, expiry, since, seats =
    string.match(rec, '^([^\t]*)\t(%d+)\t(%d+)\t(%d*)\t(.*)$')
  return { user = user, created = tonumber(created), expiry = tonumber(expiry),
           since = since, seats = seats }
end

-- A record from its fields as text, times already written by int():
-- reserve writes a batch's records with one `created` and few expiries,
-- each written once per call.
local function hold_record_of(user, created, expiry, since, seats)
  return user .. '\t' .. created .. '\t' .. expiry .. '\t' .. since .. '\t' .. seats
end

local function hold_record(h)
  -- int(): Lua's own number-to-string would print big numbers in %.14g.
  return hold_record_of(h.user, int(h.created), int(h.expiry), h.since, h.seats)
end

-- The user's live holds own k fewer seats.
local function user_lost(user, k)
  if k > 0 and redis.call('HINCRBY', USERS, user, -k) <= 0 then
    redis.call('HDEL', USERS, user)
  end
end

-- Frees the seats hold `id` still owns (a load or a confirm may have booked
-- some from under it), adds them to `out`, and answers how many.
local function free_owned(id, seats, out)
  local freed = 0
  for seat in string.gmatch(seats, '%d+') do
    if redis.call('HGET', OWNERS, seat) == id then
      redis.call('HDEL', OWNERS, seat)
      redis.call('SETRANGE', STATE, seat - 1, '0')
      freed = freed + 1
      out[#out + 1] = seat
    end
  end
  return freed
end

-- Frees every hold whose expiry has passed: its seats, its user's count,
-- its record. One O(log n) read when nothing expired, so every script that
-- reads or writes seat state calls it first and answers exactly. `upto`,
-- a score bound, frees more (begin_load: '(+inf', every held hold).
local function purge(now, upto)
  upto = upto or int(now)
  local expired = redis.call('ZRANGEBYSCORE', EXP, '-inf', upto)
  if #expired == 0 then
    return
  end
  local freed = {}
  for _, id in ipairs(expired) do
    local rec = redis.call('HGET', HOLDS, id)
    if rec then
      local h = parse_hold(rec)
      user_lost(h.user, free_owned(id, h.seats, freed))
      redis.call('HDEL', HOLDS, id)
    end
  end
  redis.call('ZREMRANGEBYSCORE', EXP, '-inf', upto)
  back_on_sale(now, freed)
end

-- Marks `seat` booked by `booking`. Booked wins: whichever hold owned the
-- seat loses it, and its user's count drops. `users_of` caches hold id ->
-- user (false when the record is gone); `n` guards the state's length.
local function book(seat, booking, n, users_of)
  local owner = redis.call('HGET', OWNERS, seat)
  if owner then
    redis.call('HDEL', OWNERS, seat)
    local user = users_of[owner]
    if user == nil then
      local rec = redis.call('HGET', HOLDS, owner)
      user = rec and parse_hold(rec).user or false
      users_of[owner] = user
    end
    if user then
      user_lost(user, 1)
    end
  end
  redis.call('HSET', BOOKED, seat, booking)
  if seat >= 1 and seat <= n then
    redis.call('SETRANGE', STATE, seat - 1, '2')
  end
end
