// The test dataset (CSV) -> POST /predict with the model trained above (or PUMPGUARD_MODEL, else the newest).
const api = (env.get("PUMPGUARD_API_URL") || "").replace(/\/+$/, "");
const token = env.get("PUMPGUARD_API_TOKEN");
if (!api || !token) {
    node.error("set PUMPGUARD_API_URL and PUMPGUARD_API_TOKEN before starting Node-RED", msg);
    return null;
}
const model = flow.get("model") || env.get("PUMPGUARD_MODEL") || "";
msg.test = msg.payload;
msg.testName = String(msg.filename || "test.csv").split(/[\\/]/).pop();
msg.model = model;
msg.url = api + "/predict?asset=" + encodeURIComponent(env.get("PUMPGUARD_ASSET") || "pump_a") +
    (model ? "&model=" + encodeURIComponent(model) : "");
msg.method = "POST";
msg.headers = { "Authorization": "Bearer " + token, "Content-Type": "text/csv" };
msg.payload = msg.test;
msg.requestTimeout = 600000;
return msg;
