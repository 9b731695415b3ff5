-- rate_limit: one step of GCRA (the generic cell rate algorithm, a leaky
-- bucket kept as one number) for one caller or client address.
--
-- KEYS[1]  <p>:rl:{<who>}:<class>  string: the theoretical arrival time (TAT), in
--                                   microseconds of the server's clock
-- ARGV[1]  emission interval, microseconds: the period divided by the
--          requests allowed in it
-- ARGV[2]  burst: how many requests may arrive at once (at least 1)
--
-- A request is allowed when, counted, it would put the TAT at most
-- `interval * burst` ahead of now. Only allowed requests move the TAT, so
-- a client that keeps knocking while refused is not punished further.
-- The key expires when the bucket is full again: idle clients cost nothing.
--
-- Replies: {allowed (1 or 0), remaining, retry_after_us, reset_after_us}
--   remaining       requests that could still arrive at once after this one
--   retry_after_us  when refused: how long until one request is allowed
--   reset_after_us  how long until the whole burst is available again

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tolerance = interval * burst

local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local new_tat = tat + interval
if new_tat - now > tolerance then
  return {0, 0, new_tat - now - tolerance, tat - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX',
  math.ceil((new_tat - now) / 1000))
return {1, math.floor((tolerance - (new_tat - now)) / interval), 0, new_tat - now}
