-- lib/common.lua, prepended to every script: the event's keys, in the one
-- order EventKeys::all() writes them (every script gets all of them, so it
-- may touch any and still run on Redis Cluster), and the server's clock.
local META, STATE, BOOKED, OWNERS, HOLDS, EXP, PENDING, USERS, UNBOOKED, LOCK, LOCAL, FEED =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11],
  KEYS[12]

-- The placeholder member that keeps hashes, sets and sorted sets in being
-- (with their TTL) when empty: no seat, hold id or user id is ''.
local NONE = ''

-- Expiry is judged by this server's clock, so every api instance agrees.
-- Returns ms and whole seconds.
local function clock()
  local t = redis.call('TIME')
  local sec = tonumber(t[1])
  return sec * 1000 + math.floor(tonumber(t[2]) / 1000), sec
end

-- A whole number as redis.call's argument. Redis 7.0 prints a Lua number
-- argument with "%.17g", glibc's multi-precision path for doubles; '%d'
-- prints the same digits by the integer path. Used where a script's
-- per-request commands take numbers (docs/PERFORMANCE.md, "second
-- machine").
local function int(n)
  return string.format('%d', n)
end
