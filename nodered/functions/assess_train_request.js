// POST /predict's answer -> a summary of the predictions; then POST /assess on the training dataset
// (pumpguard assesses the rows after the training and validation slices, as `pumpguard assess`).
const site = env.get("PUMPGUARD_SITE") || "plant1";
if (!(msg.statusCode >= 200 && msg.statusCode < 300)) {
    const detail = msg.payload && msg.payload.detail ? JSON.stringify(msg.payload.detail) : String(msg.payload);
    return [null, { topic: `pumpguard/v1/${site}/nodered/errors`, payload: { step: "predict", status: msg.statusCode, detail } }];
}
const predictions = msg.payload.predictions || [];
const statuses = {};
for (const p of predictions) statuses[p.status] = (statuses[p.status] || 0) + 1;
msg.predicted = { model: msg.payload.model, rows: predictions.length, n_rejected: msg.payload.n_rejected,
                  anomalies: predictions.filter(p => p.anomaly === true).length, statuses };
msg.model = msg.model || msg.payload.model;
// (the answer replaced msg.headers and msg.url with the response's: build the request again)
msg.url = (env.get("PUMPGUARD_API_URL") || "").replace(/\/+$/, "") + "/assess";
msg.headers = { "Authorization": "Bearer " + env.get("PUMPGUARD_API_TOKEN"), "Content-Type": "multipart/form-data" };
const filename = String(msg.trainName || "train.csv").split(/[\\/]/).pop();
msg.payload = { model: msg.model, file: { value: msg.train, options: { filename, contentType: "text/csv" } } };
return [msg, null];
