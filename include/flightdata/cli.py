"""The ``flightdata`` command: run the snapshot ETL on a file, as the transform Lambda would.

The local tools (demo, endpoint, simulator, Airflow UI) are ``flightdata-local``, in infra/local.
Other distributions add subcommands through the ``flightdata.commands`` entry points: the
deploy machine's ``flightdata-cdk`` adds ``cost``. What ships to AWS imports none of them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path

import orjson

from flightdata import credits, lake
from flightdata.lake import SnapshotContext
from flightdata.storage import DirectoryStore

COMMANDS_GROUP = "flightdata.commands"


def _transform(args: argparse.Namespace) -> int:
    # The ETL (pyarrow, numpy) loads when a snapshot is transformed, not for every command.
    from flightdata.etl.parse import MalformedSnapshotError, parse_snapshot
    from flightdata.etl.snapshot import process_snapshot

    try:
        body = Path(args.snapshot).read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.snapshot}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        lake.check_region(args.region)
    except ValueError as exc:
        print(f"error: --region: {exc}", file=sys.stderr)
        return 2
    try:
        parsed = parse_snapshot(body)
        if args.snapshot_time:
            when = lake.parse_snapshot_time(args.snapshot_time)
        else:  # partition by the document's own time
            when = datetime.fromtimestamp(parsed.api_time, UTC)
        context = SnapshotContext(when, args.region)
        written = process_snapshot(DirectoryStore(args.out), body, context, keep_raw=True, parsed=parsed)
    except (MalformedSnapshotError, ValueError) as exc:
        print(f"error: {args.snapshot}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the output directory: read-only, full, not a directory
        print(f"error: cannot write under {args.out}: {exc.strerror or exc}; nothing was kept", file=sys.stderr)
        return 1
    print(orjson.dumps(written.report()).decode())
    return 0


def _plan(args: argparse.Namespace) -> int:
    try:
        regions = orjson.loads(args.regions)
        plan = credits.plan_credits(args.tier, regions, args.interval, args.reserve)
    except (orjson.JSONDecodeError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(plan.summary())
    for region in plan.regions:
        how = f"{region.calls} tiles" if region.tiled else "one call"
        print(f"  {region.name}: {region.credits} credit(s) per fetch ({how})")
    print(orjson.dumps(plan.as_dict()).decode())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flightdata", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True)

    transform = commands.add_parser("transform", help="run the snapshot ETL on a /states/all JSON file")
    transform.add_argument("snapshot", help="a file in the OpenSky /states/all response format")
    transform.add_argument("--out", required=True, help="directory to write the lake layout under")
    transform.add_argument("--snapshot-time", help="ISO-8601 minute to partition by (default: the file's time)")
    transform.add_argument("--region", default="global", help="region name recorded with the rows")
    transform.set_defaults(run=_transform)

    plan = commands.add_parser("plan", help="OpenSky credits a day for a tier, regions and interval, and the pacing")
    plan.add_argument("--tier", default="standard", choices=list(credits.TIERS), help="OpenSky account type")
    plan.add_argument(
        "--regions",
        default=orjson.dumps(list(credits.DEFAULT_REGIONS)).decode(),
        help='the DAG\'s regions param as JSON, e.g. \'[{"name": "alps", "bbox": {"lamin": 45, ...}}]\'',
    )
    plan.add_argument("--interval", type=int, default=1, help="minutes between fetches")
    plan.add_argument("--reserve", type=int, default=credits.DEFAULT_RESERVE, help="credits never to spend")
    plan.set_defaults(run=_plan)
    for extension in entry_points(group=COMMANDS_GROUP):  # e.g. ``cost``, from flightdata-cdk
        extension.load()(commands)
    return parser


def run_command(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, log at INFO with ``-v`` (else WARNING) and run the chosen subcommand
    (its ``run`` default); this command's and ``flightdata-local``'s way alike."""
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.run(args))


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
