-- GET /connect/authorize as a signed-in browser whose consent is already given, with
-- prompt=none so that the answer is the redirect carrying the code (OIDC Core §3.1.2.6).
-- The codes go to BENCH_OUT.<thread>: they are the pre-minted codes of the exchange run.
-- BENCH_COOKIE: the browser's cookies; the URL given to wrk carries the whole request.
local common = dofile("common.lua")
local out

function init(args)
  out = common.output()
  wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
  common.start()
end

function response(status, headers, body)
  local location = headers["location"] or headers["Location"] or ""
  local code = location:match("[?&]code=([^&]+)")
  if (status == 302 or status == 303) and code then
    common.mark_ok()
    if out then out:write(code, "\n") end
  else
    bad = bad + 1
  end
end
