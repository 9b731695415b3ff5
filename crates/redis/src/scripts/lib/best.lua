-- lib/best.lua, for reserve: the best `k` available seats. `k` adjacent
-- seats in the lowest row that has them (lowest seats within it), else
-- the first `k` available in venue order.
--
-- The cost must not grow with the event: a 100,000-seat event's state is
-- 100 KB, and copying it into Lua on every call, or parsing its row ends,
-- would cost a millisecond. So the state is read in windows from a hint
-- (meta `lo`: every seat below it is taken; lowered whenever a seat is
-- freed, raised here), searched with string.find (C speed), and the row
-- ends (meta `rows`, 10 digits each) are binary-searched in place, only
-- when a match must be checked against them. A search for k adjacent seats
-- starts from that quantity's own hint too (meta `runs`, see run_hints):
-- an event sold in fours leaves a pair at each row's end, and without it
-- every later search for four would read past all of those rows again.
-- Returns the seats and, when adjacent, the first of them; nil when fewer
-- than `k` seats are available.

-- Windows start small and double up to WINDOW: the hints usually put
-- the answer in the first few seats read, and each read copies its whole
-- window into a Lua string.
local FIRST_WINDOW = 64
local WINDOW = 8192

-- The last seat of the row containing `seat`.
local function row_end(rows, seat, n)
  local lo, hi = 1, #rows / 10
  local found = n
  while lo <= hi do
    local mid = math.floor((lo + hi) / 2)
    local e = tonumber(string.sub(rows, mid * 10 - 9, mid * 10))
    if e < seat then
      lo = mid + 1
    else
      found = e
      hi = mid - 1
    end
  end
  return found
end

-- The state from seat `from` on, `len` seats at most.
local function window(from, len)
  return redis.call('GETRANGE', STATE, int(from - 1), int(from + len - 2))
end

-- The first available seat at or after `from`, or nil.
local function first_free(from, n)
  local w = FIRST_WINDOW
  while from <= n do
    local at = string.find(window(from, w), '0', 1, true)
    if at then
      return from + at - 1
    end
    from = from + w
    w = math.min(w * 2, WINDOW)
  end
  return nil
end

local function best(k, unwritten)
  local m = redis.call('HMGET', META, 'n', 'lo', 'runs')
  local n = tonumber(m[1])
  -- Every seat is available, held/pending (owners) or booked: O(1) to
  -- know there are too few. `unwritten`: seats held by this call whose
  -- owners are not written yet (reserve.lua).
  local free = n - (redis.call('HLEN', BOOKED) - 1) - (redis.call('HLEN', OWNERS) - 1)
    - (unwritten or 0)
  if k < 1 or free < k then
    return nil
  end
  local start = first_free(tonumber(m[2]) or 1, n)
  if not start then
    return nil
  end
  if start ~= tonumber(m[2]) then
    redis.call('HSET', META, 'lo', int(start))
  end
  if k == 1 then
    return { start }, start
  end
  local want = string.rep('0', k)
  local rows
  local hints = run_hints(m[3])
  -- Runs starting in [from, from + w); each window reads k - 1 seats
  -- past its end so a run across the edge is seen whole.
  local from = math.max(start, hints[k] or start)
  local w = FIRST_WINDOW
  while from <= n do
    local chunk = window(from, w + k - 1)
    local init = 1
    while init <= w do
      local at = string.find(chunk, want, init, true)
      if not at or at > w then
        break
      end
      local seat = from + at - 1
      rows = rows or redis.call('HGET', META, 'rows') or ''
      local last = row_end(rows, seat, n)
      if seat + k - 1 <= last then
        local seats = {}
        for i = 1, k do
          seats[i] = seat + i - 1
        end
        -- The lowest run of k: none starts below it (matches are met in
        -- order, and those crossing a row's end are passed over).
        if hints[k] ~= seat then
          hints[k] = seat
          save_run_hints(hints)
        end
        return seats, seat
      end
      -- Every later match starting in this row crosses its end too.
      init = last + 1 - from + 1
    end
    from = from + w
    w = math.min(w * 2, WINDOW)
  end
  -- No row has k together: the first k available in venue order.
  if hints[k] ~= n + 1 then
    hints[k] = n + 1
    save_run_hints(hints)
  end
  local seats = {}
  local at = start
  for i = 1, k do
    at = at and first_free(at, n)
    if not at then
      return nil
    end
    seats[i] = at
    at = at + 1
  end
  return seats, nil
end
