// Both assessments and the predictions summary -> one report (print, and on MQTT for other systems).
const site = env.get("PUMPGUARD_SITE") || "plant1";
if (!(msg.statusCode >= 200 && msg.statusCode < 300)) {
    const detail = msg.payload && msg.payload.detail ? JSON.stringify(msg.payload.detail) : String(msg.payload);
    return [null, { topic: `pumpguard/v1/${site}/nodered/errors`, payload: { step: "assess test set", status: msg.statusCode, detail } }];
}
const report = { model: msg.model, predictions: msg.predicted,
                 train: msg.assessTrain.headline, train_slice: msg.assessTrain.slice,
                 test: msg.payload.headline, test_slice: msg.payload.slice };
node.status({ fill: "green", shape: "dot", text: `assessed ${msg.model}` });
return [{ topic: `pumpguard/v1/${site}/nodered/assessment`, payload: report }, null];
