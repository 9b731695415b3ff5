-- load_booked: one chunk of a load: mark these seats booked by these
-- bookings, unless the booking was unbooked since the load began. Booked
-- wins: a hold that owned one of the seats loses it. Chunks of ~5,000
-- seats stay well under 50 ms (see tests/redis/big_load.rs).
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  the load's token
-- ARGV[2..] seat, booking id, seat, booking id, ...
--
-- Replies: 'done' | 'stale' (not this load's turn: nothing changed)

local m = redis.call('HMGET', META, 'st', 'tok', 'n', 'due')
if m[1] ~= 'loading' or m[2] ~= ARGV[1] then
  return 'stale'
end
local now = clock()
purge(now)
local n = tonumber(m[3])
-- `unbooked` holds its placeholder: with nothing else, skip the lookups.
local any_unbooked = redis.call('SCARD', UNBOOKED) > 1
local unbooked = {}
local users_of = {}
local lost = {}

-- With no hold at all (a reload after a loss), no seat has an owner.
local any_owner = redis.call('HLEN', OWNERS) > 1

-- Marks seats first..last booked in one SETRANGE: a repo listing seats
-- in order costs a few calls per chunk instead of one per seat.
local run_first, run_last
local function flush_run()
  if run_first then
    redis.call('SETRANGE', STATE, run_first - 1, string.rep('2', run_last - run_first + 1))
  end
end

-- Batches keep unpack() far below Lua's stack limit.
local BATCH = 1000
for from = 2, #ARGV, 2 * BATCH do
  local last = math.min(from + 2 * BATCH - 1, #ARGV)
  local seats, bookings = {}, {}
  for i = from, last - 1, 2 do
    local booking = ARGV[i + 1]
    local skip = false
    if any_unbooked then
      skip = unbooked[booking]
      if skip == nil then
        skip = redis.call('SISMEMBER', UNBOOKED, booking) == 1
        unbooked[booking] = skip
      end
    end
    local seat = tonumber(ARGV[i])
    if not skip and seat and seat >= 1 and seat <= n then
      seats[#seats + 1] = seat
      bookings[#bookings + 1] = booking
    end
  end
  if #seats > 0 then
    local owners = any_owner and redis.call('HMGET', OWNERS, unpack(seats)) or {}
    local marks = {}
    for j, seat in ipairs(seats) do
      local owner = owners[j]
      if owner then
        redis.call('HDEL', OWNERS, seat)
        local user = users_of[owner]
        if user == nil then
          local rec = redis.call('HGET', HOLDS, owner)
          user = rec and parse_hold(rec).user or false
          users_of[owner] = user
        end
        if user then
          lost[user] = (lost[user] or 0) + 1
        end
      end
      marks[2 * j - 1] = seat
      marks[2 * j] = bookings[j]
      if run_last and seat == run_last + 1 then
        run_last = seat
      else
        flush_run()
        run_first, run_last = seat, seat
      end
    end
    redis.call('HSET', BOOKED, unpack(marks))
  end
end
flush_run()
for user, k in pairs(lost) do
  user_lost(user, k)
end
-- A long load keeps its event alive, however short the idle time.
keep_alive(now, m[4], false)
return 'done'
