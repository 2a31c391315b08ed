-- POST /connect/token, authorization_code: one pre-minted code per request (RFC 6749 §4.1.3).
-- Captured "access_token refresh_token" pairs go to BENCH_OUT.<thread> for later runs.
local common = dofile("common.lua")
local codes, next_code, out
local redirect = os.getenv("BENCH_REDIRECT_URI")
local verifier = os.getenv("BENCH_VERIFIER")

function init(args)
  codes, next_code, out = common.items(), 1, common.output()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = os.getenv("BENCH_BASIC")
  common.start()
end

function request()
  local code = codes[next_code]
  if code == nil then
    exhausted = exhausted + 1
    wrk.thread:stop()
    return wrk.format("GET", "/.well-known/openid-configuration")
  end
  next_code = next_code + 1
  return wrk.format(nil, nil, nil, "grant_type=authorization_code&code=" .. code ..
    "&redirect_uri=" .. redirect .. "&code_verifier=" .. verifier)
end

function response(status, headers, body)
  local access = body:match('"access_token"%s*:%s*"([^"]+)"')
  if status == 200 and access then
    common.mark_ok()
    if out then
      out:write(access, " ", body:match('"refresh_token"%s*:%s*"([^"]+)"') or "-", "\n")
      out:flush()
    end
  elseif exhausted == 0 then
    bad = bad + 1
  end
end
