-- POST /connect/introspect (RFC 7662 §2.1), cycling through live access tokens.
local common = dofile("common.lua")
local tokens, i

function init(args)
  tokens, i = common.items(), 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = os.getenv("BENCH_BASIC")
  common.start()
end

function request()
  i = i % #tokens + 1
  return wrk.format(nil, nil, nil, "token=" .. tokens[i] .. "&token_type_hint=access_token")
end

function response(status, headers, body)
  if status == 200 and body:find('"active"%s*:%s*true') then
    common.mark_ok()
  else
    bad = bad + 1
  end
end
