-- begin_load: make `token` the event's current load, unless another load
-- holds the lock with a live lease. Booked marks are cleared (the load is
-- authoritative for them), holds are kept (expired ones purged; all but
-- the pending ones of a mirror the fence found stale), and the event
-- answers not_loaded until finish_load with this token.
--
-- KEYS     every key of the event, as lib/common.lua names them
-- ARGV[1]  token
-- ARGV[2]  lease, ms
-- ARGV[3]  seat count
-- ARGV[4]  last seat of every row but the last, comma-separated ('' for one row)
-- ARGV[5]  keep until, ms (the spec's keep_until)
-- ARGV[6]  idle TTL, ms
-- ARGV[7]  '1' to reload a loaded mirror, '0' to leave it be
--
-- Replies: 'begun' | 'busy' | 'loaded' (ready, and not a reload: nothing
-- done; a mirror the fence found stale is marked so, not ready)

-- A mirror of an event already past its keep_until still lives this long,
-- so reads of old events keep working.
local MIN_KEEP = 60000

local token, lease, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('EXISTS', LOCK) == 1 then
  return 'busy'
end
if ARGV[7] == '0' and redis.call('HGET', META, 'st') == 'ready' then
  return 'loaded'
end
local now = clock()
redis.call('SET', LOCK, token, 'PX', lease)

if redis.call('EXISTS', META) == 0 then
  -- No mirror: start from nothing. Keys left over without `meta` (a
  -- half-expired mirror) must not count.
  redis.call('DEL', STATE, BOOKED, OWNERS, HOLDS, EXP, PENDING, USERS, UNBOOKED, LOCAL, FEED)
elseif redis.call('HGET', META, 'st') == 'stale' then
  -- The fence found this data older than it claims (a restart from an
  -- older snapshot, a promoted replica): its held seats may have been
  -- released, expired or booked since, and a hold released after the
  -- snapshot would come back. Every hold not being confirmed goes (an
  -- unconfirmed hold is what losing the hold store may lose); booked
  -- seats come from this load, pending ones are settled from Postgres.
  purge(now, '(+inf')
else
  purge(now)
end
local until_ms = math.max(tonumber(ARGV[5]), now + MIN_KEEP)
-- The row ends again, fixed-width (10 digits each), so best available
-- can binary-search them without parsing them all.
local fixed = {}
for e in string.gmatch(ARGV[4], '%d+') do
  fixed[#fixed + 1] = string.format('%010d', tonumber(e))
end
-- Booked marks are rebuilt below: any seat may be available again.
redis.call('HDEL', META, 'lo', 'runs')
redis.call('HSET', META, 'st', 'loading', 'tok', token, 'n', n, 'rows', table.concat(fixed),
           'until', until_ms, 'idle', ARGV[6])

-- Any seat may change now without a feed entry: watchers start over, and
-- nothing is recorded until one watches again (a feed is only kept, with
-- its TTL, for as long as someone watches).
redis.call('HINCRBY', META, 'ep', 1)
redis.call('HDEL', META, 'w')
redis.call('DEL', FEED)

-- Authoritative: booked seats come only from this load's chunks and from
-- confirms finished while it runs.
redis.call('DEL', BOOKED, UNBOOKED)
redis.call('HSET', BOOKED, NONE, NONE)
redis.call('SADD', UNBOOKED, NONE)
redis.call('HSETNX', OWNERS, NONE, NONE)
redis.call('HSETNX', HOLDS, NONE, NONE)
redis.call('HSETNX', USERS, NONE, NONE)
redis.call('ZADD', EXP, 'NX', '+inf', NONE)
redis.call('ZADD', PENDING, 'NX', '+inf', NONE)

-- The state: '1' for every seat a live hold owns, '0' for the rest.
local owned = redis.call('HKEYS', OWNERS)
if #owned <= 64 then
  redis.call('SET', STATE, string.rep('0', n))
  for _, seat in ipairs(owned) do
    local s = tonumber(seat)
    if s and s >= 1 and s <= n then
      redis.call('SETRANGE', STATE, s - 1, '1')
    end
  end
else
  -- Many holds: build the string in Lua, O(n), rather than a call each.
  local cells = {}
  for i = 1, n do
    cells[i] = '0'
  end
  for _, seat in ipairs(owned) do
    local s = tonumber(seat)
    if s and s >= 1 and s <= n then
      cells[s] = '1'
    end
  end
  redis.call('SET', STATE, table.concat(cells))
end

keep_alive(now, nil, true)
return 'begun'
