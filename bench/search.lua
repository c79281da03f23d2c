-- Searches as readers type them (bench/load.py passes the generated vocabulary as arguments):
-- word pairs, quoted two-word phrases, a pair less a third word, now and then a word that is
-- in no quote or a phrase that never occurs. With "absent" first, only the last two kinds.
local words = {}
local absent_only = false

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
  for i, word in ipairs(args) do
    if i == 1 and word == "absent" then absent_only = true else table.insert(words, word) end
  end
  wrk.headers["Accept-Encoding"] = "gzip"
end

local function word() return words[math.random(1, #words)] end

local function nonsense()
  local letters = {}
  for i = 1, math.random(6, 10) do letters[i] = string.char(math.random(97, 122)) end
  return "zq" .. table.concat(letters)
end

function request()
  local roll = math.random(1, 100)
  local q
  if absent_only then roll = 90 + math.random(1, 10) end
  if roll <= 45 then
    q = word() .. "+" .. word()
  elseif roll <= 75 then
    q = "%22" .. word() .. "+" .. word() .. "%22"
  elseif roll <= 90 then
    q = word() .. "+" .. word() .. "+-" .. word()
  elseif roll <= 95 then
    q = nonsense()
  else
    q = "%22" .. word() .. "+" .. word() .. "+" .. word() .. "+" .. word() .. "%22"
  end
  return wrk.format("GET", "/quotes?q=" .. q)
end
