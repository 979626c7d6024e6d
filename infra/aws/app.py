"""CDK entry point: ``make synth`` runs this offline and writes infra/aws/cdk.out/."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk

from flightdata_cdk import nag, package
from flightdata_cdk.stack import FlightDataStack, Settings

OUT = Path(__file__).parent / "cdk.out"


def build_app(outdir: Path = OUT, context: dict | None = None) -> tuple[cdk.App, FlightDataStack]:
    app = cdk.App(outdir=str(outdir), context=context or {})
    settings = Settings.from_context(app.node)
    lambda_zip = Path(app.node.try_get_context("lambda_zip") or package.build())
    stack = FlightDataStack(
        app,
        f"FlightData-{settings.env_name}",
        settings=settings,
        lambda_zip=lambda_zip,
        description="flightdata: OpenSky to an S3 data lake, orchestrated by Airflow on MWAA",
    )
    nag.check(app, stack)
    return app, stack


if __name__ == "__main__":
    app, _ = build_app()
    app.synth()
    print(f"synthesised into {OUT}")
