"""Valdora, the simulated demo city: physical hydraulics, customers, labelled events, live and backfill.

Entry points (docs/SIMULATOR.md):

- `sim.backfill.backfill_into_store(store, days, end=None, seed=0, config=SimConfig())`:
  history straight into a `data.store.Store`, resuming where its history ends;
- `sim.live.run_live(broker, stop, store=None, seed=0, options=LiveOptions())`:
  the city over MQTT until ``stop`` is set;
- `sim.backfill.bench_backfill(days, seed)`: readings per second of a backfill.

Submodules are imported where used: `import sim` alone loads nothing heavy.
"""
