-- The quotes API with random filters and pages (bench/load.py passes the vocabulary).
local words = {}
local stances = {"accepts", "conditional", "ambiguous", "rejects"}

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  for _, word in ipairs(args) do table.insert(words, word) end
  wrk.headers["Accept-Encoding"] = "gzip"
end

function request()
  local query = {"page_size=50", "page=" .. math.random(1, 10)}
  if math.random() < 0.5 then table.insert(query, "party=party-" .. math.random(1, 30)) end
  if math.random() < 0.5 then table.insert(query, "issue=issue-" .. math.random(1, 40)) end
  if math.random() < 0.3 then table.insert(query, "stance=" .. stances[math.random(1, 4)]) end
  if math.random() < 0.4 then table.insert(query, "q=" .. words[math.random(1, #words)]) end
  if math.random() < 0.2 then
    table.insert(query, "from=" .. (2022 + math.random(0, 3)) .. "-01-01")
  end
  return wrk.format("GET", "/api/v1/quotes?" .. table.concat(query, "&"))
end
