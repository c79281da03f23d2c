-- A random cell (party x issue) as of a random day in 700 (bench/load.py).
local first_day = os.time({year = 2023, month = 6, day = 1, hour = 12})
local parties, issues = 30, 40

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  parties, issues = tonumber(args[1] or parties), tonumber(args[2] or issues)
  wrk.headers["Accept-Encoding"] = "gzip"
end

function request()
  local day = os.date("!%Y-%m-%d", first_day + math.random(0, 699) * 86400)
  local path = string.format("/cells/party-%d/issue-%d?as_of=%s",
    math.random(1, parties), math.random(1, issues), day)
  return wrk.format("GET", path)
end
