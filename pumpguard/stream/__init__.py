"""pumpguard on MQTT: ``codec`` (topics and payloads, pure), ``assembler`` (rows from per-node
readings, pure), ``scorer`` (rows to predictions, pure) and ``mqtt`` (the transport: connections,
sessions, acknowledgements, backpressure). Only ``mqtt`` touches sockets or the clock."""
