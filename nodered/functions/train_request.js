// The loaded dataset -> multipart POST /train (detector from PUMPGUARD_DETECTOR, decision_tree as in the study).
const api = (env.get("PUMPGUARD_API_URL") || "").replace(/\/+$/, "");
const token = env.get("PUMPGUARD_API_TOKEN");
if (!api || !token) {
    node.error("set PUMPGUARD_API_URL (e.g. http://127.0.0.1:8000) and PUMPGUARD_API_TOKEN before starting Node-RED", msg);
    return null;
}
const filename = String(msg.filename || "dataset.csv").split(/[\\/]/).pop();
msg.url = api + "/train";
msg.method = "POST";
msg.headers = { "Authorization": "Bearer " + token, "Content-Type": "multipart/form-data" };
msg.payload = {
    detector: env.get("PUMPGUARD_DETECTOR") || "decision_tree",
    file: { value: msg.payload, options: { filename, contentType: "text/csv" } },
};
msg.requestTimeout = 600000;
return msg;
