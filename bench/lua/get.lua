-- GET a fixed path (the URL given to wrk), with an optional header (BENCH_AUTH: Authorization).
local common = dofile("common.lua")
local auth = os.getenv("BENCH_AUTH")
if auth then wrk.headers["Authorization"] = auth end
