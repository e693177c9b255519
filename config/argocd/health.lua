-- Argo CD health check for proxy.posthog-operator.io/PostHogProxy.
-- It reads the kstatus conditions the operator writes: a resource is
-- Progressing until the operator has observed its current generation and
-- while Reconciling is True, Degraded when Stalled is True (the message says
-- what a person must change), and Healthy when Ready is True.
hs = {}
local function describe(c)
  return (c.reason or "") .. ": " .. (c.message or "")
end
local generation = obj.metadata.generation or 0
if obj.status == nil or obj.status.observedGeneration == nil or obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile generation " .. generation
  return hs
end
local ready = nil
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Stalled" and c.status == "True" then
      hs.status = "Degraded"
      hs.message = describe(c)
      return hs
    end
    if c.type == "Reconciling" and c.status == "True" then
      hs.status = "Progressing"
      hs.message = describe(c)
      return hs
    end
    if c.type == "Ready" then
      ready = c
    end
  end
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
elseif ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(ready)
else
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
end
return hs
