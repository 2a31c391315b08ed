-- Whole authorization code flows: authorize as a signed-in browser with consent given, follow
-- the server's own redirects (an interaction page, if it has one), then redeem the code.
-- A flow counts once its token response arrives. Every request of a flow is timed by wrk; the
-- figure that matters is `ok` (flows) per second.
-- BENCH_AUTHORIZE: path and query of the authorization request (no prompt).
-- BENCH_REDIRECT_PREFIX: the registered redirect URI, where the code arrives.
local common = dofile("common.lua")
local authorize = os.getenv("BENCH_AUTHORIZE")
local prefix = os.getenv("BENCH_REDIRECT_PREFIX")
local redirect = os.getenv("BENCH_REDIRECT_URI")
local verifier = os.getenv("BENCH_VERIFIER")
local queue, head, tail = {}, 1, 0
local browser, client

function init(args)
  browser = { Cookie = os.getenv("BENCH_COOKIE") }
  client = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    Authorization = os.getenv("BENCH_BASIC"),
  }
  common.start()
end

local function push(req)
  tail = tail + 1
  queue[tail] = req
end

function request()
  if head <= tail then
    local req = queue[head]
    queue[head] = nil
    head = head + 1
    return req
  end
  return wrk.format("GET", authorize, browser)
end

function response(status, headers, body)
  local location = headers["location"] or headers["Location"]
  if (status == 302 or status == 303) and location then
    if location:sub(1, #prefix) == prefix then
      local code = location:match("[?&]code=([^&]+)")
      if not code then bad = bad + 1 return end
      push(wrk.format("POST", "/connect/token", client,
        "grant_type=authorization_code&code=" .. code .. "&redirect_uri=" .. redirect ..
        "&code_verifier=" .. verifier))
    else
      local path = location:gsub("^https?://[^/]+", "")
      push(wrk.format("GET", path, browser))
    end
  elseif status == 200 and body:find('"access_token"', 1, true) then
    common.mark_ok()
  else
    bad = bad + 1
  end
end
