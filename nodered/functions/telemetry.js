// Rows of the loaded CSV -> pumpguard telemetry batches {"rows": [{"ts", "values"}]} (docs/mqtt.md).
// Topic pumpguard/v1/<site>/<asset>/telemetry from PUMPGUARD_SITE / PUMPGUARD_ASSET.
const site = env.get("PUMPGUARD_SITE") || "plant1";
const asset = env.get("PUMPGUARD_ASSET") || "pump_a";
const batch = Math.max(1, parseInt(env.get("PUMPGUARD_BATCH_ROWS") || "100", 10));
const LABELS = ["machine_status", "anomaly", "changepoint"];
const rows = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
const columns = (msg.columns || Object.keys(rows[0] || {}).join(",")).split(",");
const timeColumn = columns.find(c => c === "timestamp" || c === "datetime");
if (!timeColumn) {
    node.error(`${msg.filename || "dataset"}: no 'timestamp' or 'datetime' column (found: ${columns.slice(0, 5).join(", ")} ...)`, msg);
    return null;
}
// the published CSV may start with an unnamed index column; labels are not telemetry
const sensors = columns.filter((c, i) => c !== timeColumn && !LABELS.includes(c) && c !== "" &&
    !/^Unnamed/.test(c) && !(i === 0 && /^col\d+$/.test(c)));
function isoUtc(text) {
    const t = String(text).trim().replace(" ", "T");
    // times without an offset are UTC, as pumpguard reads the published files (docs/data.md)
    return /(Z|[+-]\d\d:?\d\d)$/.test(t) ? t : t + "Z";
}
function value(v) {
    if (v === undefined || v === null || v === "") return null;
    if (typeof v === "number") return v;
    const n = Number(v);
    return Number.isFinite(n) ? n : v; // a non-number goes on: pumpguard reports it on the errors topic
}
const topic = `pumpguard/v1/${site}/${asset}/telemetry`;
let sent = 0;
for (let start = 0; start < rows.length; start += batch) {
    const chunk = rows.slice(start, start + batch).map(r => {
        const values = {};
        for (const s of sensors) {
            // an empty cell is no reading: left out (a model refuses even null for a sensor it does not
            // read, e.g. sensor_15, empty in the published data)
            const v = value(r[s]);
            if (v !== null) values[s] = v;
        }
        return { ts: isoUtc(r[timeColumn]), values };
    });
    node.send({ topic, qos: 1, payload: { rows: chunk } });
    sent += chunk.length;
}
node.status({ fill: "green", shape: "dot", text: `${sent} rows sent` });
return null;
