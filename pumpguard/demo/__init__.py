"""``pumpguard demo``: the whole system on one machine, composed from the other packages.

- :mod:`.offline` -- simulate the default network with faults, explore it, train a detector on the
  first part in time, assess it on the rest, and write the run report (what ``make demo`` shows).
- :mod:`.feed` -- the sensors of the demo: the simulation's later rows published as telemetry, paced
  against the data clock, stoppable.
- :mod:`.live` -- :class:`~pumpguard.demo.live.LiveDemo`: embedded broker (or ``--broker URL``) ->
  scoring service -> controller service -> API and dashboard, each in a named thread, stopped in
  reverse order.
- :mod:`.recorder` and :mod:`.live_report` -- what crossed the broker, and the live run's figures
  (alarms, lead times, false alarms, controller actions, localisation hits).

Imports every other pumpguard package; nothing imports it but the CLI.
"""
