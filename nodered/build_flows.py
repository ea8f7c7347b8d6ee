"""Write nodered/flows/*.json, the three flows of the original study rebuilt on Node-RED's core nodes.

The flows are data (JSON) but easier to review and keep consistent as code: run
``python nodered/build_flows.py`` after a change and commit both. Nothing here is secret: the broker,
the API address and the token are read from environment variables when the flows run
(``${VAR}`` in a node property, ``env.get`` in a function node).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
FUNCTIONS = HERE / "functions"


def fn(name: str) -> str:
    return (FUNCTIONS / f"{name}.js").read_text(encoding="utf-8")


def broker(prefix: str) -> dict:
    return {"id": f"{prefix}-broker", "type": "mqtt-broker", "name": "pumpguard broker (env)",
            "broker": "${PUMPGUARD_MQTT_HOST}", "port": "${PUMPGUARD_MQTT_PORT}", "clientid": "",
            "autoConnect": True, "usetls": False, "protocolVersion": "4", "keepalive": "60",
            "cleansession": True, "autoUnsubscribe": True, "birthTopic": "", "closeTopic": "", "willTopic": ""}


class Tab:
    def __init__(self, prefix: str, label: str, info: str) -> None:
        self.prefix = prefix
        self.nodes: list[dict] = [{"id": f"{prefix}-tab", "type": "tab", "label": label, "disabled": False, "info": info},
                                  broker(prefix)]

    def add(self, key: str, type_: str, x: int, y: int, wires=(), **props) -> str:
        node = {"id": f"{self.prefix}-{key}", "type": type_, "z": f"{self.prefix}-tab", "x": x, "y": y, **props}
        if type_ not in ("catch",) or wires:
            node["wires"] = [[f"{self.prefix}-{w}" for w in out] for out in wires]
        if type_ == "catch":
            node.setdefault("wires", [])
        self.nodes.append(node)
        return node["id"]

    # the node kinds used here, with the core defaults spelled out so an import needs nothing else
    def inject(self, key, x, y, wires, name, repeat="", once=False, topic=""):
        return self.add(key, "inject", x, y, [wires], name=name, props=[{"p": "payload"}, {"p": "topic", "vt": "str"}],
                        repeat=repeat, crontab="", once=once, onceDelay="0.5", topic=topic,
                        payload="", payloadType="date")

    def file_in(self, key, x, y, wires, name, env_var, format_="utf8"):
        return self.add(key, "file in", x, y, [wires], name=name, filename=env_var, filenameType="env",
                        format=format_, chunk=False, sendError=False, encoding="none", allProps=False)

    def function(self, key, x, y, wires, name, code, outputs=1):
        return self.add(key, "function", x, y, wires, name=name, func=fn(code), outputs=outputs, timeout=0,
                        noerr=0, initialize="", finalize="", libs=[])

    def http(self, key, x, y, wires, name):
        return self.add(key, "http request", x, y, [wires], name=name, method="use", ret="obj", paytoqs="ignore",
                        url="", tls="", persist=False, proxy="", insecureHTTPParser=False, authType="",
                        senderr=False, headers=[])

    def debug(self, key, x, y, name, prop="payload"):
        return self.add(key, "debug", x, y, [], name=name, active=True, tosidebar=True, console=False,
                        tostatus=False, complete=prop, targetType="msg", statusVal="", statusType="auto")

    def mqtt_out(self, key, x, y, name):
        return self.add(key, "mqtt out", x, y, [], name=name, topic="", qos="1", retain="false", respTopic="",
                        contentType="", userProps="", correl="", expiry="", broker=f"{self.prefix}-broker")

    def mqtt_in(self, key, x, y, wires, name, topic, datatype="auto-detect"):
        return self.add(key, "mqtt in", x, y, [wires], name=name, topic=topic, qos="1", datatype=datatype,
                        broker=f"{self.prefix}-broker", nl=False, rap=True, rh=0, inputs=0)

    def csv(self, key, x, y, wires, name, **props):
        return self.add(key, "csv", x, y, [wires], name=name, spec="rfc", sep=",", hdrin=props.get("hdrin", True),
                        hdrout=props.get("hdrout", "none"), multi=props.get("multi", "mult"), ret="\\n",
                        temp=props.get("temp", ""), skip="0", strings=True, include_empty_strings=False,
                        include_null_values=False)

    def catch(self, key, x, y, wires, name):
        return self.add(key, "catch", x, y, [wires], name=name, scope=None, uncaught=False)


def flow_a() -> list[dict]:
    t = Tab("pga", "a. client to server",
            "The study's first flow: a client loads a dataset and sends it over MQTT; `pumpguard serve` "
            "(the Anomaly_Detection step) predicts; the server side shows predictions and errors.")
    t.inject("start", 120, 80, ["load"], "timestamp")
    t.file_in("load", 320, 80, ["csv"], "load dataset", "PUMPGUARD_DATASET_CSV")
    t.csv("csv", 510, 80, ["telemetry"], "csv rows")
    t.function("telemetry", 700, 80, [["out"]], "build telemetry", "telemetry")
    t.mqtt_out("out", 920, 80, "Client to Server")
    t.catch("catch", 320, 150, ["errors-client"], "load errors")
    t.debug("errors-client", 560, 150, "Errors if any", prop="error")
    t.mqtt_in("predictions", 180, 260, ["debug-pred"], "Server side: predictions", "pumpguard/v1/+/+/prediction")
    t.debug("debug-pred", 560, 260, "Predictions")
    t.mqtt_in("errors", 170, 330, ["debug-err"], "Server side: errors", "pumpguard/v1/+/errors")
    t.debug("debug-err", 560, 330, "Errors if any")
    return t.nodes


def flow_b() -> list[dict]:
    t = Tab("pgb", "b. train, assess, classify",
            "The study's second flow on `pumpguard api`: train a detector (decision_tree by default), assess it "
            "on the training and the test datasets, and classify telemetry arriving on MQTT.")
    errors = ["error", "result-out"]
    # training
    t.inject("train-start", 120, 60, ["train-load"], "start", topic="train")
    t.file_in("train-load", 320, 60, ["train-req"], "load dataset", "PUMPGUARD_TRAIN_CSV", format_="")
    t.function("train-req", 540, 60, [["train-http"]], "train request", "train_request")
    t.http("train-http", 800, 60, ["train-check"], "decision tree trainer: POST /train")
    t.function("train-check", 1060, 60, [["train-print", "result-out"], errors], "training answer", "train_answer",
               outputs=2)
    t.debug("train-print", 1260, 60, "print")
    # assessment
    t.inject("assess-start", 120, 180, ["assess-load-train"], "start", topic="assessment")
    t.file_in("assess-load-train", 340, 180, ["assess-keep"], "load training dataset", "PUMPGUARD_TRAIN_CSV",
              format_="")
    t.add("assess-keep", "change", 580, 180, [["assess-load-test"]], name="keep as msg.train",
          rules=[{"t": "move", "p": "payload", "pt": "msg", "to": "train", "tot": "msg"},
                 {"t": "set", "p": "trainName", "pt": "msg", "to": "filename", "tot": "msg"}])
    t.file_in("assess-load-test", 810, 180, ["predict-req"], "load test dataset", "PUMPGUARD_TEST_CSV", format_="")
    t.function("predict-req", 340, 260, [["predict-http"]], "predictor request", "predict_request")
    t.http("predict-http", 600, 260, ["assess-train-req"], "predictor: POST /predict")
    t.function("assess-train-req", 860, 260, [["assess-http-1"], errors], "assess on training set",
               "assess_train_request", outputs=2)
    t.http("assess-http-1", 340, 340, ["assess-test-req"], "POST /assess (train)")
    t.function("assess-test-req", 600, 340, [["assess-http-2"], errors], "assess on test set",
               "assess_test_request", outputs=2)
    t.http("assess-http-2", 840, 340, ["assessment"], "POST /assess (test)")
    t.function("assessment", 1060, 340, [["assess-print", "result-out"], errors], "assessment",
               "assessment_report", outputs=2)
    t.debug("assess-print", 1260, 340, "print")
    # classification
    t.mqtt_in("classify-in", 130, 440, ["classify-req"], "classification", "pumpguard/v1/+/+/classify", datatype="utf8")
    t.function("classify-req", 360, 440, [["classify-http"]], "predictor request", "classify_request")
    t.http("classify-http", 640, 440, ["classify-answer"], "decision tree predictor: POST /predict")
    t.function("classify-answer", 900, 440, [["predictions-out"], errors], "predictions answer", "classify_answer",
               outputs=2)
    t.mqtt_out("predictions-out", 1100, 440, "predictions")
    # errors and results
    t.catch("catch", 360, 540, ["error-msg"], "any error")
    t.function("error-msg", 600, 540, [errors], "error message", "error_message")
    t.debug("error", 1260, 520, "error")
    t.mqtt_out("result-out", 1230, 580, "results (nodered topics)")
    return t.nodes


def flow_c() -> list[dict]:
    t = Tab("pgc", "c. random record",
            "The study's third flow: every few seconds a random record in the pump-sensor schema, written "
            "to the CSV named by PUMPGUARD_RECORD_CSV (its last records, with a header), which "
            "`pumpguard predict` reads.")
    t.inject("tick", 130, 80, ["record"], "timestamp", repeat="10")
    t.function("record", 340, 80, [["csv"]], "random record", "random_record")
    t.csv("csv", 340, 160, ["file"], "csv", hdrout="all", multi="one",
          temp="timestamp," + ",".join(f"sensor_{i:02d}" for i in range(52)) + ",machine_status")
    t.add("file", "file", 600, 160, [["written"]], name="write PUMPGUARD_RECORD_CSV", filename="PUMPGUARD_RECORD_CSV",
          filenameType="env", appendNewline=False, createDir=True, overwriteFile="true", encoding="none")
    t.debug("written", 840, 160, "msg.payload")
    return t.nodes


def main() -> None:
    out = HERE / "flows"
    out.mkdir(exist_ok=True)
    for name, nodes in (("a-client-server.json", flow_a()), ("b-train-assess-classify.json", flow_b()),
                        ("c-random-record.json", flow_c())):
        (out / name).write_text(json.dumps(nodes, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out / name} ({len(nodes)} nodes)")


if __name__ == "__main__":
    main()
