-- lib/feed.lua: the change feed behind live seat maps. While the event is
-- watched (meta `w`: ms until which someone reads the feed), every change
-- of seat states is appended to FEED, a stream, with the counts right
-- after it; nothing is written otherwise. A position is meta `ep` (the
-- feed's epoch, bumped whenever changes may have gone unrecorded: a load,
-- or a watch that lapsed) and a stream id.

-- Changes kept for clients catching up (approximate trimming).
local FEED_KEEP = 10000

-- Appends "these seats went to `state`" ('held' | 'available' | 'booked').
-- `w` is meta's watched-until when the caller already read it (false: read,
-- and never set), nil when it did not; `unwritten`, seats held whose owners
-- the caller writes later.
local function record(now, seats, state, w, unwritten)
  if #seats == 0 then
    return
  end
  -- Only nil reads it: `w or HGET` read it again for every reserve of an
  -- event nobody watches, one command in four of a one-seat reserve
  -- (docs/PERFORMANCE.md, "tenth session").
  if w == nil then
    w = redis.call('HGET', META, 'w')
  end
  w = tonumber(w)
  if not w or w <= now then
    return
  end
  local numbers = {}
  for i, seat in ipairs(seats) do
    numbers[i] = tonumber(seat)
  end
  table.sort(numbers)
  -- Each hash keeps its placeholder member.
  redis.call('XADD', FEED, 'MAXLEN', '~', FEED_KEEP, '*',
             's', table.concat(numbers, ','), 't', state,
             'b', int(redis.call('HLEN', BOOKED) - 1),
             'h', int(redis.call('HLEN', OWNERS) - 1 + (unwritten or 0)))
end

-- Starts a new epoch: an empty feed, kept in being with the mirror's TTL
-- so that appends (only while watched) never make a key without one.
local function new_epoch()
  redis.call('HINCRBY', META, 'ep', 1)
  redis.call('DEL', FEED)
  local id = redis.call('XADD', FEED, '*', 'x', '')
  redis.call('XDEL', FEED, id)
  local ttl = redis.call('PTTL', META)
  if ttl > 0 then
    redis.call('PEXPIRE', FEED, ttl)
  end
end

-- Keeps recording until now + ttl; a lapsed watch means changes may have
-- gone unrecorded, so positions of the old epoch must not be trusted.
local function arm(now, ttl)
  local w = tonumber(redis.call('HGET', META, 'w'))
  if not w or w <= now or redis.call('EXISTS', FEED) == 0 then
    new_epoch()
  end
  redis.call('HSET', META, 'w', string.format('%d', now + ttl))
end

-- The stream's last-generated id and the newest id trimming deleted.
local function feed_bounds()
  local info = redis.call('XINFO', 'STREAM', FEED)
  local last, deleted = '0-0', '0-0'
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      last = info[i + 1]
    elseif info[i] == 'max-deleted-entry-id' then
      deleted = info[i + 1]
    end
  end
  return last, deleted
end

-- Stream ids as comparable numbers (ms fits a double exactly).
local function id_parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

local function id_less(a, b)
  local am, as = id_parts(a)
  local bm, bs = id_parts(b)
  return am < bm or (am == bm and as < bs)
end

-- Best available's run hints (meta `runs`, "k:seat" for each quantity
-- asked for before, ';'-separated): no k adjacent seats in one row start
-- below `seat`. Holds only take seats, so a hint stays true until a seat is
-- freed; back_on_sale lowers them. A missing hint is no hint.
local function run_hints(text)
  local hints = {}
  for k, seat in string.gmatch(text or '', '(%d+):(%d+)') do
    hints[tonumber(k)] = tonumber(seat)
  end
  return hints
end

local function save_run_hints(hints)
  local parts = {}
  for k, seat in pairs(hints) do
    parts[#parts + 1] = k .. ':' .. seat
  end
  redis.call('HSET', META, 'runs', table.concat(parts, ';'))
end

-- Seats went back on sale: record them, and lower best available's hints
-- (meta `lo`, the lowest seat that may be available: every seat below it
-- is taken; and the run hints: a run of k through a freed seat starts at
-- most k - 1 seats before it) so they never skip them.
local function back_on_sale(now, seats)
  if #seats == 0 then
    return
  end
  local lowest = math.huge
  for _, seat in ipairs(seats) do
    lowest = math.min(lowest, tonumber(seat))
  end
  local m = redis.call('HMGET', META, 'lo', 'runs')
  local lo = tonumber(m[1])
  if lo and lowest < lo then
    redis.call('HSET', META, 'lo', lowest)
  end
  if m[2] then
    local hints, lowered = run_hints(m[2]), false
    for k, seat in pairs(hints) do
      local from = math.max(1, lowest - k + 1)
      if from < seat then
        hints[k] = from
        lowered = true
      end
    end
    if lowered then
      save_run_hints(hints)
    end
  end
  record(now, seats, 'available')
end
