"""Topic names of pumpguard on MQTT, version 1 (pure: strings only).

Topics (``<root>`` is ``pumpguard`` unless a deployment chooses another)::

    <root>/v1/<site>/<asset>/telemetry        one row {"ts", "values"} or a batch {"rows": [row, ...]}
    <root>/v1/<site>/node/<node_id>           one reading {"ts", "value", "unit"}
    <root>/v1/<site>/<asset>/prediction       one prediction, or {"rows": [prediction, ...]} for a batch
    <root>/v1/<site>/<asset>/quality          data-quality events (late / missing nodes)
    <root>/v1/<site>/controller/state         retained
    <root>/v1/<site>/controller/command
    <root>/v1/<site>/controller/event
    <root>/v1/<site>/errors                   {"ts", "reason", "topic", "payload", ...}
    <root>/v1/<site>/service/<client_id>      presence: birth {"status": "online"} / death (will) "offline", retained
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION = "v1"
DEFAULT_ROOT = "pumpguard"


@dataclass(frozen=True)
class Topics:
    """The topic names of one site.

    Examples
    --------
    >>> t = Topics(site="plant1")
    >>> t.telemetry("pump_a")
    'pumpguard/v1/plant1/pump_a/telemetry'
    >>> t.subscription_telemetry(share_group="pumpguard")
    '$share/pumpguard/pumpguard/v1/plant1/+/telemetry'
    >>> t.parse("pumpguard/v1/plant1/node/J12")
    ('node', 'plant1', 'J12')
    >>> t.parse(t.controller_operator)
    ('controller/operator', 'plant1', '')
    """

    site: str = "+"
    root: str = DEFAULT_ROOT

    @property
    def base(self) -> str:
        return f"{self.root}/{VERSION}/{self.site}"

    def telemetry(self, asset: str) -> str:
        return f"{self.base}/{asset}/telemetry"

    def node(self, node_id: str) -> str:
        return f"{self.base}/node/{node_id}"

    def prediction(self, asset: str) -> str:
        return f"{self.base}/{asset}/prediction"

    def quality(self, asset: str) -> str:
        """Data-quality events of an asset (late or missing nodes): not process anomalies."""
        return f"{self.base}/{asset}/quality"

    @property
    def controller_state(self) -> str:
        return f"{self.base}/controller/state"

    @property
    def controller_command(self) -> str:
        return f"{self.base}/controller/command"

    @property
    def controller_event(self) -> str:
        return f"{self.base}/controller/event"

    @property
    def controller_operator(self) -> str:
        """Operators' requests to the controller (acknowledge, force, repaired): never a plant command."""
        return f"{self.base}/controller/operator"

    @property
    def errors(self) -> str:
        return f"{self.base}/errors"

    def presence(self, client_id: str) -> str:
        return f"{self.base}/service/{client_id}"

    def subscription_telemetry(self, share_group: str | None = None) -> str:
        """Filter for every asset's telemetry; a shared subscription when ``share_group`` is given."""
        topic = self.telemetry("+")
        return f"$share/{share_group}/{topic}" if share_group else topic

    def subscription_nodes(self) -> str:
        return self.node("+")

    def parse(self, topic: str) -> tuple[str, str, str] | None:
        """``(kind, site, name)`` of a topic under this root, or None for a topic that is not ours.

        ``kind`` is telemetry, prediction, quality, node, controller/<x>, errors or service; ``name`` is the
        asset, node or client id ("" for site-wide topics).
        """
        head = f"{self.root}/{VERSION}/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head):].split("/")
        if len(parts) == 2 and parts[1] == "errors":
            return ("errors", parts[0], "")
        if len(parts) != 3:
            return None
        site, middle, last = parts
        if middle == "node":
            return ("node", site, last)
        if middle == "service":
            return ("service", site, last)
        if middle == "controller" and last in ("state", "command", "event", "operator"):
            return (f"controller/{last}", site, "")
        if last in ("telemetry", "prediction", "quality"):
            return (last, site, middle)
        return None
