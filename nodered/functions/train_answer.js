// POST /train's answer: the model id (kept in flow context for the predictor) and its assessment.
const site = env.get("PUMPGUARD_SITE") || "plant1";
if (msg.statusCode >= 200 && msg.statusCode < 300 && msg.payload && msg.payload.model) {
    flow.set("model", msg.payload.model);
    node.status({ fill: "green", shape: "dot", text: msg.payload.model });
    return [{ topic: `pumpguard/v1/${site}/nodered/train`, payload: msg.payload }, null];
}
const detail = msg.payload && msg.payload.detail ? JSON.stringify(msg.payload.detail) : String(msg.payload);
node.status({ fill: "red", shape: "ring", text: `HTTP ${msg.statusCode}` });
return [null, { topic: `pumpguard/v1/${site}/nodered/errors`,
                payload: { step: "train", status: msg.statusCode, detail } }];
