-- wrk: the realistic mix of frontdesk-load, per thread: create a case (new
-- or returning customer), get it, a customer message, a reply, set it
-- pending, list the newest new cases. Steps that need a case use one this
-- thread created recently. TOKEN must be set in the environment.
local token = os.getenv("TOKEN")
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
local recent = {}
local step = 0

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed)
end

local function a_case()
  if #recent == 0 then return nil end
  return recent[math.random(1, #recent)]
end

function request()
  step = step % 6 + 1
  local id = a_case()
  if step == 1 or id == nil then
    step = 1
    local n = math.random(1, 10000)
    local body = string.format(
      '{"subject":"Printer on fire","customer":{"email":"c%d@example.com"},' ..
      '"channel":"api","message":{"body":"The printer is on fire again."}}', n)
    return wrk.format("POST", "/api/v1/cases", headers, body)
  elseif step == 2 then
    return wrk.format("GET", "/api/v1/cases/" .. id, headers)
  elseif step == 3 then
    return wrk.format("POST", "/api/v1/cases/" .. id .. "/messages", headers, '{"type":"customer","body":"Any news?"}')
  elseif step == 4 then
    return wrk.format("POST", "/api/v1/cases/" .. id .. "/messages", headers,
      '{"type":"reply","body":"A technician is on the way."}')
  elseif step == 5 then
    return wrk.format("PATCH", "/api/v1/cases/" .. id, headers, '{"status":"pending"}')
  else
    return wrk.format("GET", "/api/v1/cases?status=new&limit=20", headers)
  end
end

function response(status, hdrs, body)
  if status == 201 and body:sub(1, 7) == '{"id":"' then
    local id = body:match('^{"id":"(%d+)"')
    if id then
      recent[#recent % 64 + 1] = id
    end
  end
end
