-- The matrix as of a random day in 700 (bench/load.py): a reader moving the date.
local first_day = os.time({year = 2023, month = 6, day = 1, hour = 12})

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  wrk.headers["Accept-Encoding"] = "gzip"
end

function request()
  local day = os.date("!%Y-%m-%d", first_day + math.random(0, 699) * 86400)
  return wrk.format("GET", "/?as_of=" .. day)
end
