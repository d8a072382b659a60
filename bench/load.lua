-- Mixed traffic for bench/load.py: requests picked by weight from a pre-generated data file.
--
--   wrk -t2 -c50 -d20s -s bench/load.lua http://127.0.0.1:PORT -- DATA.lua [KIND]
--
-- DATA.lua (written by load.py) returns {weights = {kind = n, ...}, requests = {kind = {...}}},
-- each request {method, path, body}. With KIND only that kind is sent (per-type runs).
-- done() prints one line "LOAD_RESULT <json>" with latency percentiles (and every latency
-- recorded, with its count), status counts, socket errors and, per kind, the server's own
-- time (Server-Timing) and how many answers were empty.

local kinds, bounds, total = {}, {}, 0
local prepared = {}
local next_id = 0
local threads = {}

-- Per-thread tallies, read by done() through thread:get. All flat: wrk 4.1's thread:get
-- crashes on nested tables, so app times are a histogram keyed "kind:tenths of a ms".
sent = {}
statuses = {}
ok = {}
empty = {}
app = {}
samples = {}

function setup(thread)
   next_id = next_id + 1
   thread:set("id", next_id)
   table.insert(threads, thread)
end

function init(args)
   local data = dofile(args[1])
   local only = args[2]
   -- Seeded per thread: runs repeat, and threads do not send the same sequence.
   math.randomseed(1000 + id)
   local names = {}
   for name in pairs(data.weights) do
      table.insert(names, name)
   end
   table.sort(names)
   for _, name in ipairs(names) do
      local weight = data.weights[name]
      if only ~= nil then
         weight = (name == only) and 1 or 0
      end
      if weight > 0 then
         total = total + weight
         table.insert(kinds, name)
         table.insert(bounds, total)
         local list = {}
         for _, r in ipairs(data.requests[name]) do
            local headers = nil
            if r.body ~= nil then
               headers = {["Content-Type"] = "text/plain"}
            end
            -- Formatted once here, not per request: wrk.format costs more than a table lookup.
            table.insert(list, wrk.format(r.method, r.path, headers, r.body))
         end
         prepared[name] = list
         sent[name] = 0
      end
   end
end

function request()
   local roll = math.random() * total
   local name = kinds[#kinds]
   for i, bound in ipairs(bounds) do
      if roll < bound then
         name = kinds[i]
         break
      end
   end
   sent[name] = sent[name] + 1
   local list = prepared[name]
   return list[math.random(#list)]
end

-- Which kind of request an answer belongs to, from the first bytes of its body: wrk does not
-- say which request a response answers, and the four kinds answer with different first keys.
local function kind_of(body)
   local head = body:sub(1, 160)
   local lines = head:match('"lines_read": ?(%d+)')
   if lines ~= nil then
      return (tonumber(lines) > 1) and "paste" or "lookup"
   end
   if head:find('^{"query":') then
      return "search"
   end
   return "read"
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status < 200 or status > 299 then
      if #samples < 10 then
         local request_id = headers["X-Request-ID"] or headers["X-Request-Id"] or ""
         table.insert(samples, status .. "\t" .. request_id .. "\t" .. body:sub(1, 600))
      end
      return
   end
   -- With one kind configured (hello-world, per-type runs) every answer is of that kind.
   local name = (#kinds == 1) and kinds[1] or kind_of(body)
   ok[name] = (ok[name] or 0) + 1
   -- A match or search that finds nothing is still a 200: counted, since an index being
   -- rebuilt under the server shows up as empty answers rather than as errors.
   if (name == "lookup" or name == "paste") and body:find('"matches": []', 1, true) then
      empty[name] = (empty[name] or 0) + 1
   elseif name == "search" and body:find('"results": []', 1, true) then
      empty[name] = (empty[name] or 0) + 1
   end
   local timing = headers["Server-Timing"] or headers["server-timing"]
   local ms = timing and tonumber(timing:match("dur=([%d.]+)"))
   if ms ~= nil then
      local key = name .. ":" .. string.format("%d", math.floor(ms * 10))
      app[key] = (app[key] or 0) + 1
   end
end

local function encode(value)
   local kind = type(value)
   if kind == "number" then
      if value ~= value or value == math.huge or value == -math.huge then
         return "null"
      end
      return string.format("%.10g", value)
   elseif kind == "string" then
      local escaped = value:gsub('[%c"\\]', function(c)
         return string.format("\\u%04x", c:byte())
      end)
      return '"' .. escaped .. '"'
   elseif kind == "boolean" then
      return tostring(value)
   elseif kind == "table" then
      if #value > 0 or next(value) == nil then
         local parts = {}
         for _, item in ipairs(value) do
            table.insert(parts, encode(item))
         end
         return "[" .. table.concat(parts, ",") .. "]"
      end
      local parts = {}
      for key, item in pairs(value) do
         table.insert(parts, encode(tostring(key)) .. ":" .. encode(item))
      end
      return "{" .. table.concat(parts, ",") .. "}"
   end
   return "null"
end

-- The q-quantile in ms of a histogram {tenths of a ms = count}.
local function percentile(histogram, q)
   local keys, count = {}, 0
   for tenths, n in pairs(histogram) do
      table.insert(keys, tenths)
      count = count + n
   end
   if count == 0 then
      return nil
   end
   table.sort(keys)
   local wanted, seen = math.max(1, math.ceil(q * count)), 0
   for _, tenths in ipairs(keys) do
      seen = seen + histogram[tenths]
      if seen >= wanted then
         return tenths / 10
      end
   end
   return keys[#keys] / 10
end

local function add_into(into, from)
   for key, n in pairs(from or {}) do
      into[key] = (into[key] or 0) + n
   end
end

function done(summary, latency, requests)
   local all_sent, all_statuses, all_ok, all_empty, all_app = {}, {}, {}, {}, {}
   local all_samples = {}
   for _, thread in ipairs(threads) do
      add_into(all_sent, thread:get("sent"))
      add_into(all_statuses, thread:get("statuses"))
      add_into(all_ok, thread:get("ok"))
      add_into(all_empty, thread:get("empty"))
      add_into(all_app, thread:get("app"))
      for _, line in ipairs(thread:get("samples") or {}) do
         if #all_samples < 10 then
            local status, request_id, body = line:match("^(%d+)\t([^\t]*)\t(.*)$")
            table.insert(all_samples, {
               status = tonumber(status), request_id = request_id, body = body,
            })
         end
      end
   end
   local histograms, odd_keys = {}, {}
   for key, n in pairs(all_app) do
      local name, tenths = tostring(key):match("^(.*):(%d+)$")
      if name == nil then
         -- Not seen in normal runs; kept in the result to diagnose, never fatal.
         if #odd_keys < 5 then
            table.insert(odd_keys, tostring(key))
         end
      else
         histograms[name] = histograms[name] or {}
         histograms[name][tonumber(tenths)] = n
      end
   end
   local kinds_out = {}
   for name, n in pairs(all_ok) do
      local histogram = histograms[name] or {}
      kinds_out[name] = {
         ok = n,
         empty = all_empty[name] or 0,
         app_p50_ms = percentile(histogram, 0.50),
         app_p99_ms = percentile(histogram, 0.99),
      }
   end
   local non_2xx = 0
   for status, n in pairs(all_statuses) do
      if status < 200 or status > 299 then
         non_2xx = non_2xx + n
      end
   end
   -- Every latency wrk recorded, as [microseconds, count] pairs: runs against several nodes
   -- at once are merged into one distribution from these (bench/load_cluster.py).
   local latencies = {}
   for i = 1, #latency do
      local value, count = latency(i)
      table.insert(latencies, {value, count})
   end
   local e = summary.errors
   local result = {
      seconds = summary.duration / 1e6,
      requests = summary.requests,
      requests_per_second = summary.requests / (summary.duration / 1e6),
      p50_ms = latency:percentile(50) / 1000,
      p90_ms = latency:percentile(90) / 1000,
      p99_ms = latency:percentile(99) / 1000,
      max_ms = latency.max / 1000,
      latencies_us = latencies,
      non_2xx = non_2xx,
      socket_errors = {
         connect = e.connect, read = e.read, write = e.write, timeout = e.timeout,
      },
      statuses = all_statuses,
      sent = all_sent,
      kinds = kinds_out,
      error_samples = all_samples,
      odd_histogram_keys = odd_keys,
   }
   io.write("LOAD_RESULT " .. encode(result) .. "\n")
end
