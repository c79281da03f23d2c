-- The quotes API paged by cursor from a random point (bench/load.py passes the vocabulary):
-- random party, issue, stance and word as in api.lua, and `after` a cursor naming a random
-- day in 1,400 and quote id in 1,000,000, as a reader following `next` deep into a list is.
local words = {}
local stances = {"accepts", "conditional", "ambiguous", "rejects"}
local first_day = os.time({year = 2022, month = 1, day = 1, hour = 12})
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  for _, word in ipairs(args) do table.insert(words, word) end
  wrk.headers["Accept-Encoding"] = "gzip"
end

-- URL-safe base64 without padding, as app.services.search.Cursor.encode writes it.
local function base64(text)
  local out = {}
  for i = 1, #text, 3 do
    local a, b, c = text:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = (b == nil) and 2 or ((c == nil) and 3 or 4)
    for k = 1, chars do
      local index = math.floor(n / 64 ^ (4 - k)) % 64
      table.insert(out, alphabet:sub(index + 1, index + 1))
    end
  end
  return table.concat(out)
end

function request()
  local day = os.date("!%Y-%m-%d", first_day + math.random(0, 1399) * 86400)
  local query = {"page_size=50", "after=" .. base64("d" .. day .. ":" .. math.random(1, 1000000))}
  if math.random() < 0.5 then table.insert(query, "party=party-" .. math.random(1, 30)) end
  if math.random() < 0.5 then table.insert(query, "issue=issue-" .. math.random(1, 40)) end
  if math.random() < 0.3 then table.insert(query, "stance=" .. stances[math.random(1, 4)]) end
  if math.random() < 0.4 then table.insert(query, "q=" .. words[math.random(1, #words)]) end
  return wrk.format("GET", "/api/v1/quotes?" .. table.concat(query, "&"))
end
