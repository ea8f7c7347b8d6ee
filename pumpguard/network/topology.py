"""Water networks: load the default pumpguard network, WNTR's bundled examples, or any EPANET .inp file.

The default network (``pumpguard``, shipped as ``networks/pumpguard.inp``) is a small, readable town:
a river intake ``R-1`` and a two-pump station (``PUMP-1`` duty with variable speed, ``PUMP-2``
standby), a primary north main and a normally-closed alternate south main (valve ``V-B1``), a
looped grid in three demand zones and a hilltop tank ``T-1``. Isolation valves are TCVs named
``V-...``: closing one sets its status CLOSED, opening it sets it OPEN, so rerouting is done by
closing and opening links. See ``docs/network.md``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import wntr

from pumpguard.errors import ConfigError

#: The network used when none is named.
DEFAULT_NETWORK = "pumpguard"

#: Networks known by name: ours, and the examples bundled with WNTR.
_WNTR_EXAMPLES = ("Net1", "Net2", "Net3", "Net6")


def network_path(name_or_path: str | Path) -> Path:
    """The .inp file behind a network name (``pumpguard``, ``Net3``, ...) or a path.

    Examples
    --------
    >>> network_path("pumpguard").name
    'pumpguard.inp'
    >>> network_path("Net3").name
    'Net3.inp'
    """
    text = str(name_or_path)
    if text == DEFAULT_NETWORK:
        return Path(str(files("pumpguard.network").joinpath("networks", "pumpguard.inp")))
    if text in _WNTR_EXAMPLES:
        path = Path(str(files("wntr").joinpath("library", "networks", f"{text}.inp")))
        if not path.is_file():
            raise ConfigError(f"network {text!r}: WNTR's bundled {path} is missing; reinstall wntr>=1.5")
        return path
    path = Path(text)
    if path.suffix.lower() != ".inp":
        raise ConfigError(
            f"network {text!r} is neither a known name ({', '.join((DEFAULT_NETWORK,) + _WNTR_EXAMPLES)}) "
            "nor an EPANET .inp file; pass one of those names or a path ending in .inp"
        )
    if not path.is_file():
        raise ConfigError(f"network file {text!r} does not exist; check the path")
    return path


def load_network(name_or_path: str | Path = DEFAULT_NETWORK) -> wntr.network.WaterNetworkModel:
    """Read a network into a WNTR model (SI units inside: m, m3/s).

    Raises :class:`~pumpguard.errors.ConfigError` for an unknown name, a missing file, or a file
    EPANET/WNTR cannot read.

    Examples
    --------
    >>> wn = load_network()
    >>> wn.num_junctions, sorted(wn.pump_name_list), sorted(wn.tank_name_list)
    (22, ['PUMP-1', 'PUMP-2'], ['T-1'])
    >>> load_network("Net3").num_junctions
    92
    """
    path = network_path(name_or_path)
    try:
        wn = wntr.network.WaterNetworkModel(str(path))
    except Exception as exc:  # WNTR raises many kinds for a bad file; turn them into one clear error
        raise ConfigError(f"network file {str(path)!r} is not a valid EPANET .inp file: {exc}") from None
    if wn.num_junctions == 0 or (wn.num_reservoirs + wn.num_tanks) == 0:
        raise ConfigError(
            f"network file {str(path)!r} has {wn.num_junctions} junctions and "
            f"{wn.num_reservoirs + wn.num_tanks} sources; expected at least one of each"
        )
    wn.name = Path(path).stem if str(name_or_path) != DEFAULT_NETWORK else DEFAULT_NETWORK
    return wn


def zone_of(wn: wntr.network.WaterNetworkModel, node_name: str) -> str | None:
    """The zone tag of a node (the .inp [TAGS] section), or ``None``."""
    tag = getattr(wn.get_node(node_name), "tag", None)
    return str(tag) if tag else None


def element_xy(wn: wntr.network.WaterNetworkModel, element: str) -> tuple[float, float] | None:
    """Coordinates of a node, or the midpoint of a link; ``None`` when the network has none."""
    if element in wn.node_name_list:
        xy = wn.get_node(element).coordinates
    elif element in wn.link_name_list:
        link = wn.get_link(element)
        (x1, y1), (x2, y2) = link.start_node.coordinates, link.end_node.coordinates
        xy = ((x1 + x2) / 2.0, (y1 + y2) / 2.0)
    else:
        return None
    if xy is None:
        return None
    return float(xy[0]), float(xy[1])
