/**
 * Node-RED settings for pumpguard's flows (nodered/flows/). Safe by default:
 *  - listens on 127.0.0.1 only;
 *  - no telemetry, no diagnostics endpoint, no palette or module installs from the editor;
 *  - the admin API (editor, /flows, /inject) either needs a login (PUMPGUARD_NODERED_MODE=editor:
 *    adminAuth with one user whose bcrypt hash comes from PUMPGUARD_NODERED_PASSWORD_HASH) or is not
 *    served at all (PUMPGUARD_NODERED_MODE=headless, the default: httpAdminRoot false). `disableEditor`
 *    alone would leave /flows open, so it is not used.
 *
 * Environment (nothing secret lives in the flows or in this file):
 *   PUMPGUARD_NODERED_MODE           headless (default) | editor
 *   PUMPGUARD_NODERED_USER           editor login name (default: admin)
 *   PUMPGUARD_NODERED_PASSWORD_HASH  bcrypt hash of its password (required in editor mode), e.g.
 *       node -e "console.log(require('bcryptjs').hashSync(process.argv[1], 10))" 'a long password'
 *       (run from nodered/.runtime so bcryptjs is found)
 *   PUMPGUARD_NODERED_PORT           port (default 1880)
 *   PUMPGUARD_NODERED_USERDIR        Node-RED's user folder (default ~/.node-red)
 *   PUMPGUARD_NODERED_FLOWS          flow file, relative to the user folder or absolute (default flows.json)
 *   PUMPGUARD_NODERED_CREDENTIAL_SECRET  key that encrypts flows_cred.json (MQTT user/password set in
 *       the editor); without it Node-RED makes one and keeps it in the user folder
 * The flows themselves read PUMPGUARD_MQTT_HOST, PUMPGUARD_MQTT_PORT, PUMPGUARD_API_URL,
 * PUMPGUARD_API_TOKEN and the data paths (docs/nodered.md).
 *
 * Start: node nodered/.runtime/node_modules/node-red/red.js --settings nodered/settings.js
 */
const path = require("path");
const os = require("os");

const env = process.env;
const mode = (env.PUMPGUARD_NODERED_MODE || "headless").toLowerCase();
if (mode !== "headless" && mode !== "editor") {
    throw new Error(`PUMPGUARD_NODERED_MODE=${mode}: expected 'headless' (no admin API) or 'editor' (admin API behind a login)`);
}
let adminAuth;
if (mode === "editor") {
    const hash = env.PUMPGUARD_NODERED_PASSWORD_HASH || "";
    if (!/^\$2[aby]\$\d\d\$/.test(hash)) {
        throw new Error("PUMPGUARD_NODERED_MODE=editor needs PUMPGUARD_NODERED_PASSWORD_HASH, a bcrypt hash " +
            "($2b$10$...): make one with node -e \"console.log(require('bcryptjs').hashSync(process.argv[1], 10))\" 'password' " +
            "in nodered/.runtime, or start with PUMPGUARD_NODERED_MODE=headless");
    }
    adminAuth = {
        type: "credentials",
        sessionExpiryTime: 8 * 3600,
        users: [{ username: env.PUMPGUARD_NODERED_USER || "admin", password: hash, permissions: "*" }],
    };
}
const userDir = env.PUMPGUARD_NODERED_USERDIR || path.join(os.homedir(), ".node-red");
const port = parseInt(env.PUMPGUARD_NODERED_PORT || "1880", 10);
if (!(port > 0 && port < 65536)) {
    throw new Error(`PUMPGUARD_NODERED_PORT=${env.PUMPGUARD_NODERED_PORT}: expected a port number 1..65535`);
}

module.exports = {
    uiHost: "127.0.0.1",
    uiPort: port,
    userDir,
    flowFile: env.PUMPGUARD_NODERED_FLOWS || "flows.json",
    flowFilePretty: true,
    credentialSecret: env.PUMPGUARD_NODERED_CREDENTIAL_SECRET || undefined,

    httpAdminRoot: mode === "editor" ? "/" : false,
    adminAuth,
    // the flows serve no HTTP endpoints of their own
    httpNodeRoot: false,

    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    externalModules: {
        autoInstall: false,
        palette: { allowInstall: false, allowUpload: false, allowList: [], denyList: ["*"] },
        modules: { allowInstall: false, allowList: [], denyList: ["*"] },
    },
    functionExternalModules: false,
    functionGlobalContext: {},
    exportGlobalContextKeys: false,

    editorTheme: {
        projects: { enabled: false },
        tours: false,
        palette: { catalogues: [] },
        multiplayer: { enabled: false },
    },
    logging: { console: { level: env.PUMPGUARD_NODERED_LOG_LEVEL || "info", metrics: false, audit: false } },
    httpRequestTimeout: 600000,
};
