-- wrk script: Telegram updates from many simulated farmers, each update unique.
-- Arguments (after --): base update id, number of users, text to send, first user.
local counter = 0
local threads = {}
local base, users, text, first = 0, 10000, "/help", 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  base = tonumber(args[1]) or 0
  users = tonumber(args[2]) or 10000
  text = args[3] or "/help"
  first = tonumber(args[4]) or 0
  math.randomseed(os.time() * 1000 + tid)
end

function request()
  counter = counter + 1
  local uid = 7000000 + first + math.random(0, users - 1)
  local update_id = base + tid * 10000000 + counter
  local body = string.format(
    '{"update_id":%d,"message":{"message_id":%d,"date":1700000000,"chat":{"id":%d,"type":"private"},' ..
    '"from":{"id":%d,"is_bot":false,"first_name":"Farmer","language_code":"hi"},"text":"%s"}}',
    update_id, counter, uid, uid, text)
  return wrk.format("POST", "/webhooks/telegram", {
    ["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = "bench-secret",
  }, body)
end
