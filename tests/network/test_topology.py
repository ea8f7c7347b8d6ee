"""Loading networks: names, paths, clear errors; the default network's hydraulics are sane."""

import numpy as np
import pytest
import wntr

from pumpguard.errors import ConfigError
from pumpguard.network.topology import element_xy, load_network, network_path, zone_of


def test_names_and_paths():
    assert load_network().name == "pumpguard"
    net3 = load_network("Net3")
    assert net3.num_junctions == 92 and net3.num_pumps == 2
    assert load_network(network_path("Net3")).num_junctions == 92


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_network(tmp_path / "nope.inp")
    with pytest.raises(ConfigError, match="neither a known name"):
        load_network("Net99")
    bad = tmp_path / "bad.inp"
    bad.write_text("[JUNCTIONS]\n J1 abc\n[END]\n")
    with pytest.raises(ConfigError, match="not a valid EPANET"):
        load_network(bad)


def test_default_network_layout():
    wn = load_network()
    assert 15 <= wn.num_junctions <= 30
    assert sorted(wn.pump_name_list) == ["PUMP-1", "PUMP-2"] and wn.tank_name_list == ["T-1"]
    assert wn.get_link("V-B1").initial_status == wntr.network.LinkStatus.Closed  # the alternate route
    assert {zone_of(wn, j) for j in wn.junction_name_list} >= {"ZONE-N", "ZONE-C", "ZONE-S"}
    assert element_xy(wn, "P-M1") == pytest.approx((450.0, 850.0))


def test_default_network_gives_service_pressure():
    wn = load_network()
    wn.options.time.duration = 86400
    res = wntr.sim.EpanetSimulator(wn).run_sim()
    demand_nodes = [j for j, n in wn.junctions() if n.base_demand > 0]
    p = res.node["pressure"][demand_nodes].to_numpy()
    assert 25.0 <= p.min() and p.max() <= 60.0
    assert np.isfinite(p).all()
