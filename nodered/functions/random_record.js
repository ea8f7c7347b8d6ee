// A random record in the pump-sensor schema (SYNTHETIC, labelled NORMAL like `pumpguard generate-record`):
// each sensor drawn from a normal distribution around the mean and spread of the NORMAL rows of
// `pumpguard sample --generator statistical` (sensor_15 empty, as published). The file holds the last
// PUMPGUARD_RECORD_KEEP records (60 by default), rewritten whole each time, so it always has one header.
const MEAN = [2.406, 46.12, 50.43, 43.28, 628.3, 73.85, 13.54, 15.81, 14.86, 14.82, 41.99, 42.99, 30.01, 7.523, 415.2, null, 420.8, 420.9, 2.51, 590.7, 361.1, 801.7, 460.7, 919.9, 560.6, 649.1, 799.8, 409.7, 730.9, 590.9, 914.5, 537.2, 696.5, 576.4, 191.5, 408.9, 498.3, 54.75, 48.05, 43.77, 59.84, 37.8, 35.99, 47.98, 43.87, 47.98, 44.94, 52.91, 56.9, 48.07, 183.0, 201.9];
const SD = [0.119, 2.46, 2.4, 1.9, 23.5, 3.88, 1.26, 1.59, 1.54, 1.36, 4.1, 3.65, 2.82, 0.742, 18.2, null, 16.8, 18.9, 0.1, 21.8, 15.9, 36.3, 17.7, 44.7, 23.1, 30.6, 16.9, 4.86, 10.3, 8.5, 43.7, 27.4, 38.6, 31.9, 7.33, 14.3, 21.2, 1.85, 1.56, 1.29, 1.71, 1.19, 1.02, 1.54, 1.44, 1.11, 1.29, 1.5, 1.44, 1.26, 8.91, 9.31];
const keep = Math.max(1, parseInt(env.get("PUMPGUARD_RECORD_KEEP") || "60", 10));
function gauss() {  // Box-Muller
    let u = 0;
    while (u === 0) u = Math.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}
const records = context.get("records") || [];
// one record per second at most: the time stamp is the current UTC second, never repeated
let t = Math.floor(Date.now() / 1000) * 1000;
const last = records.length ? Date.parse(records[records.length - 1].timestamp.replace(" ", "T") + "Z") : 0;
if (t <= last) t = last + 1000;
const record = { timestamp: new Date(t).toISOString().slice(0, 19).replace("T", " ") };
MEAN.forEach((m, i) => {
    const name = "sensor_" + String(i).padStart(2, "0");
    record[name] = m === null ? "" : Number((m + SD[i] * gauss()).toPrecision(7));
});
record.machine_status = "NORMAL";
records.push(record);
while (records.length > keep) records.shift();
context.set("records", records);
node.status({ text: `${records.length} record(s), last ${record.timestamp}` });
msg.payload = records.slice();
return msg;
