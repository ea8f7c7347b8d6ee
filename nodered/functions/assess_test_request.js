// The training set's assessment -> POST /assess on the test dataset, every row of it (a separate file the
// model did not learn from, as in the study's train/test split).
const site = env.get("PUMPGUARD_SITE") || "plant1";
if (!(msg.statusCode >= 200 && msg.statusCode < 300)) {
    const detail = msg.payload && msg.payload.detail ? JSON.stringify(msg.payload.detail) : String(msg.payload);
    return [null, { topic: `pumpguard/v1/${site}/nodered/errors`, payload: { step: "assess training set", status: msg.statusCode, detail } }];
}
msg.assessTrain = msg.payload;
msg.url = (env.get("PUMPGUARD_API_URL") || "").replace(/\/+$/, "") + "/assess";
msg.headers = { "Authorization": "Bearer " + env.get("PUMPGUARD_API_TOKEN"), "Content-Type": "multipart/form-data" };
msg.payload = { model: msg.model, everything: "true",
                file: { value: msg.test, options: { filename: msg.testName, contentType: "text/csv" } } };
return [msg, null];
