-- Argo CD health for DataPlatformAccount and SharedBucketGrant (Lua 5.1, as Argo CD embeds).
-- Healthy: Ready=True for the current generation. Degraded: an error only a person can fix.
-- Suspended: paused, or a grant past spec.expiresAt (revoked as asked). Progressing: everything else (first reconcile, creating, updating, deleting,
-- waiting for a dependency, a retryable AWS error).
local hs = {}

local function condition(conditions, wanted)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == wanted then
      return c
    end
  end
  return nil
end

local needs_person = {
  InvalidSpec = true, AccessDenied = true, AccountMismatch = true, Conflict = true, DeploymentFailed = true, QuotaExceeded = true,
}

local status = obj.status or {}
local ready = condition(status.conditions, "Ready")
local synced = condition(status.conditions, "Synced")
local annotations = (obj.metadata and obj.metadata.annotations) or {}

if annotations["dataplatform.io/paused"] == "true" or (synced ~= nil and synced.reason == "Paused") then
  hs.status = "Suspended"
  hs.message = "paused by the annotation dataplatform.io/paused"
  return hs
end

if ready ~= nil and ready.status == "False" and ready.reason == "Expired" then
  hs.status = "Suspended"
  hs.message = "Expired: " .. (ready.message or "")
  return hs
end

for _, c in ipairs({synced, ready}) do
  if c ~= nil and c.status == "False" and needs_person[c.reason] then
    hs.status = "Degraded"
    hs.message = c.reason .. ": " .. (c.message or "")
    return hs
  end
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the operator's first reconcile"
  return hs
end

local generation = obj.metadata and obj.metadata.generation
local current = generation == nil or status.observedGeneration == generation
if ready.status == "True" and current then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end

hs.status = "Progressing"
if not current then
  hs.message = "the operator has not yet reconciled generation " .. tostring(generation)
else
  hs.message = (ready.reason or "") .. ": " .. (ready.message or "")
end
return hs
