"""``flightdata cost``: the monthly estimate by component, per MWAA environment class, for
the stack the CDK app builds (:mod:`flightdata_cdk.shape`) priced by :mod:`flightdata_cdk.cost`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from flightdata import credits
from flightdata_cdk.cost import (
    ALL_CLASSES,
    ASSUMED,
    ENVIRONMENT_CLASSES,
    PRICES,
    REPORT_MONTHS,
    Estimate,
    Prices,
    Shape,
    budget_usd,
    estimate,
    load_workload,
    nat_versus_endpoints,
)
from flightdata_cdk.shape import shape_of


def _table(estimates: Iterable[Estimate]) -> str:
    """One row per line item, one column per month; the quantity is the last month's."""
    rows = list(estimates)
    last = rows[-1]
    keyed = [{(line.component, line.item): line for line in e.lines} for e in rows]
    months = " ".join(f"{f'month {e.month}':>10}" for e in rows)
    lines = [
        f"{last.shape.environment_class}, {last.snapshots_per_day:,.0f} snapshots a day (USD a month)",
        f"{'component':<16} {'item':<52} {f'quantity, month {last.month}':>22} {months}",
    ]
    for key, line in keyed[-1].items():  # the last month has every line
        cells = " ".join(f"{k[key].usd if key in k else 0.0:>10,.2f}" for k in keyed)
        lines.append(f"{key[0]:<16} {key[1][:52]:<52} {line.quantity:>22} {cells}")
    lines.append(f"{'total':<16} {'':<52} {'':>22} " + " ".join(f"{e.total:>10,.2f}" for e in rows))
    return "\n".join(lines)


def build_shape(mwaa_class: str | None, workers: int | None, tier: str | None) -> Shape:
    """The shape of the stack the CDK app builds (with these settings changed), without synthesising."""
    import os
    import tempfile

    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    import aws_cdk as cdk

    from flightdata_cdk.stack import FlightDataStack, Settings

    context: dict[str, Any] = {}
    if mwaa_class:
        context["mwaa_environment_class"] = mwaa_class
    if tier:
        context["opensky_tier"] = tier
    with tempfile.TemporaryDirectory() as outdir:
        placeholder = Path(outdir) / "lambda.zip"  # the code's contents do not change the price
        placeholder.write_bytes(b"")
        app = cdk.App(outdir=outdir, context=context)
        stack = FlightDataStack(app, "Estimate", settings=Settings.from_context(app.node), lambda_zip=placeholder)
        shape = shape_of(stack)
    return replace(shape, min_workers=workers) if workers else shape


def _read(what: str, load: Any, path: str | None) -> Any:
    try:
        return load(Path(path) if path else None)
    except OSError as exc:
        raise ValueError(f"cannot read the {what} file {exc.filename}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"the {what} file {path} is not JSON: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    try:
        prices = _read("prices", Prices.load, args.prices)
        workload = _read("workload", load_workload, args.workload)
        classes = [args.mwaa_class] if args.mwaa_class else list(ENVIRONMENT_CLASSES)
        # a class without a price is only named: no stack is built for it
        priced = [c for c in classes if prices.has("mwaa", "environment_hour", c)]
        shapes = {c: build_shape(c, args.workers, args.tier) if c in priced else None for c in classes}
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    measured = workload["measured"]
    print(
        f"prices: {prices.document['region']}, transcribed {prices.document['transcribed']} (check them: "
        f"flightdata_cdk/data/{PRICES.name}); workload measured {measured['on']} by `{measured['command']}`"
    )
    summary: dict[str, Any] = {"classes": {}, "assumptions": asdict(ASSUMED)}
    for name, shape in shapes.items():
        if shape is None:
            print(f"\n{name}: no price in the price file (we found no source for it); give one with --prices")
            summary["classes"][name] = None
            continue
        estimates = [estimate(shape, workload, prices, month=m) for m in REPORT_MONTHS]
        print()
        print(_table(estimates))
        summary["classes"][name] = {
            "monthly_usd": {str(e.month): round(e.total, 2) for e in estimates},
            "by_component": {str(e.month): {k: round(v, 2) for k, v in e.by_component().items()} for e in estimates},
            "budget_usd": budget_usd(estimates[-1]),
            "snapshots_per_day": estimates[0].snapshots_per_day,
        }
    nat = nat_versus_endpoints(prices)
    summary["nat_versus_endpoints"] = nat
    print(
        f"\nNAT gateway: ${nat['nat_usd']:.2f} a month; an interface endpoint in 2 AZs: ${nat['endpoint_usd']:.2f}. "
        f"Replacing the NAT gateway saves money only with fewer than {nat['break_even_endpoints']:.1f} endpoints."
    )
    print("assumed: " + ", ".join(f"{k}={v:g}" for k, v in asdict(ASSUMED).items()))
    print(json.dumps(summary, sort_keys=True))
    return 0


def register(commands: Any) -> None:
    """``flightdata cost``: added to the ``flightdata`` command where this package is installed."""
    parser = commands.add_parser("cost", help="monthly AWS cost estimate by component, per MWAA environment class")
    parser.add_argument("--mwaa-class", choices=ALL_CLASSES)
    parser.add_argument("--workers", type=int, help="workers always running (MWAA min_workers; default: the stack's)")
    parser.add_argument("--tier", choices=sorted(credits.TIERS), help="OpenSky account (default: the stack's)")
    parser.add_argument("--prices", help="a JSON file of prices that replace the shipped ones (same shape)")
    parser.add_argument("--workload", help="a workload.json from `make demo` (default: the committed measurement)")
    parser.set_defaults(run=run)
