// POST /predict's answer -> the predictions on pumpguard/v1/<site>/<asset>/prediction ({"rows": [...]}).
if (msg.statusCode >= 200 && msg.statusCode < 300) {
    const out = { topic: `pumpguard/v1/${msg.site}/${msg.asset}/prediction`, qos: 1, payload: { rows: msg.payload.predictions } };
    const errors = msg.payload.n_rejected ? { topic: `pumpguard/v1/${msg.site}/nodered/errors`,
        payload: { step: "classify", rejected: msg.payload.rejected, n_rejected: msg.payload.n_rejected } } : null;
    return [out, errors];
}
const detail = msg.payload && msg.payload.detail ? JSON.stringify(msg.payload.detail) : String(msg.payload);
return [null, { topic: `pumpguard/v1/${msg.site}/nodered/errors`, payload: { step: "classify", status: msg.statusCode, detail } }];
