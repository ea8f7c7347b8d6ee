"""Network: topology, sensors, faults, hydraulic simulation and the controller state machine."""
