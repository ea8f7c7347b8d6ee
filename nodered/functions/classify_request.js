// Telemetry on pumpguard/v1/<site>/<asset>/classify (docs/mqtt.md payloads) -> POST /predict.
const api = (env.get("PUMPGUARD_API_URL") || "").replace(/\/+$/, "");
const token = env.get("PUMPGUARD_API_TOKEN");
if (!api || !token) {
    node.error("set PUMPGUARD_API_URL and PUMPGUARD_API_TOKEN before starting Node-RED", msg);
    return null;
}
const parts = String(msg.topic).split("/");  // pumpguard / v1 / site / asset / classify
msg.site = parts[2];
msg.asset = parts[3];
const model = flow.get("model") || env.get("PUMPGUARD_MODEL") || "";
msg.url = api + "/predict?asset=" + encodeURIComponent(msg.asset) + (model ? "&model=" + encodeURIComponent(model) : "");
msg.method = "POST";
msg.headers = { "Authorization": "Bearer " + token, "Content-Type": "application/json" };
return msg;
