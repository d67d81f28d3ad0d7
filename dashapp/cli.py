"""The `python -m dashapp` command line: one click group, one module per command family.

Every command takes `--db` and `--config`; flags override `WATERLINE_*` variables,
which override the TOML file (see dashapp.settings).
"""

from __future__ import annotations

import click


class WaterlineGroup(click.Group):
    """Errors any command can meet opening the store, told as one line instead of a traceback."""

    def invoke(self, ctx: click.Context):
        from data.store import StoreVersionError

        try:
            return super().invoke(ctx)
        except StoreVersionError as err:
            raise click.ClickException(str(err)) from None


@click.group(cls=WaterlineGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def main() -> None:
    """Waterline: water monitoring from meters and sensors over MQTT."""


def _register_commands() -> None:
    from dashapp.commands import (
        alerting,
        bench,
        detection,
        exporting,
        forecasting,
        importing,
        meters,
        quarantine,
        serving,
        simulating,
    )

    main.add_command(serving.serve)
    main.add_command(serving.listen)
    main.add_command(serving.demo)
    main.add_command(importing.import_command)
    main.add_command(exporting.export_command)
    main.add_command(meters.meters)
    main.add_command(quarantine.quarantine)
    main.add_command(simulating.simulate)
    main.add_command(bench.bench)
    main.add_command(detection.detect_command)
    main.add_command(detection.evaluate_command)
    main.add_command(alerting.alert_rules)
    main.add_command(forecasting.forecast_command)
    main.add_command(forecasting.backtest_command)
    main.add_command(forecasting.coverage_command)
    bench.bench.add_command(forecasting.bench_forecast)
    bench.bench.add_command(forecasting.bench_forecast_page)


_register_commands()
