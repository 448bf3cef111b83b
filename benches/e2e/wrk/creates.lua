-- wrk: every request opens a case for one of 10,000 customers, most of them
-- new on the first run: the shape of intake on a busy day.
-- TOKEN must be set in the environment.
local token = os.getenv("TOKEN")
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed)
end

function request()
  local n = math.random(1, 10000)
  local body = string.format(
    '{"subject":"Printer on fire","customer":{"email":"c%d@example.com","name":"Customer %d"},' ..
    '"channel":"api","message":{"body":"The printer is on fire again."}}', n, n)
  return wrk.format("POST", "/api/v1/cases", headers, body)
end
