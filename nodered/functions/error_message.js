// Anything a node of this tab threw (a file that cannot be read, the API not reachable) -> one error message.
const site = env.get("PUMPGUARD_SITE") || "plant1";
const where = msg.error && msg.error.source ? (msg.error.source.name || msg.error.source.type) : "flow";
return { topic: `pumpguard/v1/${site}/nodered/errors`,
         payload: { step: where, detail: msg.error ? msg.error.message : String(msg.payload) } };
