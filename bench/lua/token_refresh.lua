-- POST /connect/token, refresh_token: one pre-minted refresh token per request (RFC 6749 §6).
local common = dofile("common.lua")
local tokens, next_token

function init(args)
  tokens, next_token = common.items(), 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = os.getenv("BENCH_BASIC")
  common.start()
end

function request()
  local token = tokens[next_token]
  if token == nil then
    exhausted = exhausted + 1
    wrk.thread:stop()
    return wrk.format("GET", "/.well-known/openid-configuration")
  end
  next_token = next_token + 1
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  if status == 200 and body:find('"access_token"', 1, true) then
    common.mark_ok()
  elseif exhausted == 0 then
    bad = bad + 1
  end
end
