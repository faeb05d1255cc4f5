-- Takes one token from the token bucket at KEYS[1], atomically: Redis runs a
-- script alone, so concurrent callers on any number of nodes see one bucket.
--
-- KEYS[1]  the bucket, a hash {tokens, ts, rate, burst}: the tokens left at
--          ts (microseconds, Redis's own clock) and the rate and burst in
--          force since then
-- ARGV[1]  rate, tokens per second (a positive number)
-- ARGV[2]  burst, the bucket's capacity (a whole number, at least 1)
--
-- Returns {allowed (1 or 0), remaining (whole tokens left), reset (ms until
-- the bucket is full again), retry (ms until one token is available; 0 when
-- allowed)}.

-- Before Redis 5, a script that writes after TIME must ask for its effects,
-- not its text, to be replicated; later versions always do.
if redis.replicate_commands then redis.replicate_commands() end

local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

-- A missing bucket (new, or expired once full) is a full one.
local tokens = burst
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'rate', 'burst')
if b[1] and b[2] and b[3] and b[4] then
  local ts = tonumber(b[2])
  if now < ts then
    now = ts -- a failover to a server whose clock is behind: refill nothing
  end
  -- The time elapsed refills at the old rate and burst; the new ones apply
  -- from now on.
  tokens = math.min(tonumber(b[4]), tonumber(b[1]) + (now - ts) * tonumber(b[3]) / 1000000)
  tokens = math.min(tokens, burst)
end

local allowed, retry = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) * 1000 / rate)
end
local reset = math.ceil((burst - tokens) * 1000 / rate)

-- Cap the waits at about 31.7 years, as the Go side does: a tiny rate and a
-- huge burst must not overflow the integer reply or PEXPIRE.
local cap = 1e12
retry = math.min(retry, cap)
reset = math.min(reset, cap)

redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.0f', now),
  'rate', ARGV[1], 'burst', ARGV[2])
-- Once full, the bucket is the same as no bucket: let it expire then, with a
-- second's margin for the clocks of a failover.
redis.call('PEXPIRE', KEYS[1], reset + 1000)

return {allowed, math.floor(tokens), reset, retry}
